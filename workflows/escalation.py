"""The scheduled escalation job: record one ``EscalatedTo`` event per overdue item and
deadline, naming whom it goes to (``domain.seats.escalation_recipient``: the chair, or
for the chair's own item the portfolio's PMO).

The list of overdue items comes from the read side (the API wires the projections to
this function); this module queries nothing. Each item is one command: load the
aggregate, call its ``escalate(item, due, by)``, save. The domain refuses a second
escalation of the same (item, due), and ``run_command`` retries a version conflict
against fresh state, so two runners racing end with exactly one event per (item, due):
the loser's retry sees the winner's event and is refused, which this job skips.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from domain.change_request import ChangeRequest
from domain.errors import InvalidValue, RuleViolation
from domain.policy import Actor
from domain.portfolio import Portfolio
from domain.project import Project
from domain.seats import escalation_recipient
from domain.signoff import SignOff
from eventstore.database import Store
from workflows.uow import CommandOptions, UnitOfWork, run_command

log = logging.getLogger(__name__)

SCHEDULER = Actor("gateledger-scheduler")

KINDS: dict[str, type[Project] | type[ChangeRequest] | type[SignOff]] = {
    "project": Project,
    "change_request": ChangeRequest,
    "signoff": SignOff,
}


@dataclass(frozen=True)
class OverdueItem:
    """A pending approval past its due date: e.g. (project id, "project", "vote:dave", due)."""

    aggregate_id: UUID
    kind: str
    item: str
    due: date

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidValue(f"unknown kind {self.kind!r}; expected one of {sorted(KINDS)}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def escalate_overdue(
    store: Store,
    items: Sequence[OverdueItem],
    *,
    by: Actor = SCHEDULER,
    clock: Callable[[], datetime] = _utc_now,
) -> int:
    """Escalate every item overdue at ``clock()``; return how many Escalated events were
    written. Items already escalated for their deadline, or no longer pending, are
    skipped; items not yet overdue (a read side ahead of this clock) are left alone."""
    today = clock().astimezone(UTC).date()
    if by.correlation_id is None:  # one correlation id per pass ties its events together
        by = dataclasses.replace(by, correlation_id=f"escalation-{uuid4().hex[:16]}")
    written = 0
    for overdue in items:
        if overdue.due >= today:
            continue
        written += await _escalate_one(store, overdue, by)
    return written


async def _escalate_one(store: Store, overdue: OverdueItem, by: Actor) -> int:
    async def use_case(uow: UnitOfWork) -> Any:
        aggregate = await uow.get(KINDS[overdue.kind], overdue.aggregate_id)
        portfolio = await uow.get(Portfolio, aggregate.portfolio_id)
        pmo = portfolio.created_by.acting_as
        to = escalation_recipient(overdue.item, portfolio.chair, pmo)
        aggregate.escalate(overdue.item, overdue.due, by, to=to)
        return aggregate

    try:
        await run_command(store, use_case, CommandOptions(principal=by.person))
    except RuleViolation as refused:
        log.info("not escalating %s of %s: %s", overdue.item, overdue.aggregate_id, refused)
        return 0
    return 1
