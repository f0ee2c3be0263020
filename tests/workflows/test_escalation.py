"""The escalation job: one Escalated event per overdue item and deadline, even with two
job runners racing; items no longer pending are skipped."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InvalidValue
from domain.gate_review import Evidence
from eventstore.database import Store
from tests.workflows.given import (
    NOW,
    OPTS,
    PM,
    SPONSOR,
    by,
    events_of,
    new_project,
    request_signoff,
    submitted_cr,
)
from workflows import change_requests as crs
from workflows import gates
from workflows.escalation import OverdueItem, escalate_overdue

DUE = date(2027, 1, 10)


def clock() -> datetime:
    return NOW  # 2027-01-15: DUE is overdue


async def overdue_items(store: Store) -> list[OverdueItem]:
    """A project with an open G0 review, a CR awaiting decision, an open sign-off."""
    project = await new_project(store)
    evidence = [Evidence("Mandate", "https://docs/mandate", "sha256:aa")]
    await gates.request_review(
        store, project_id=project.id, gate="G0", evidence=evidence, by=by(PM), options=OPTS
    )
    cr_id = await submitted_cr(store, project.id, "300")
    signoff_id = await request_signoff(store, project.id, "Business case", "v1", [SPONSOR])
    return [
        OverdueItem(project.id, "project", "decision:G0", DUE),
        OverdueItem(cr_id, "change_request", "decision", DUE),
        OverdueItem(signoff_id, "signoff", f"signature:{SPONSOR}", DUE),
    ]


async def escalations(store: Store, aggregate_id: UUID) -> list[tuple[str, date]]:
    return [(e.item, e.due) for e in await events_of(store, aggregate_id, "EscalatedTo")]


async def test_two_runners_racing_write_exactly_one_escalation_per_item(store: Store) -> None:
    # Given three overdue items
    items = await overdue_items(store)
    # When two job runners escalate them at the same time
    counts = await asyncio.gather(
        escalate_overdue(store, items, clock=clock), escalate_overdue(store, items, clock=clock)
    )
    # Then each item has exactly one Escalated event, and the runners agree on the total
    assert sum(counts) == len(items)
    for item in items:
        assert await escalations(store, item.aggregate_id) == [(item.item, DUE)]


async def test_running_the_job_again_escalates_nothing_new(store: Store) -> None:
    items = await overdue_items(store)
    assert await escalate_overdue(store, items, clock=clock) == 3
    assert await escalate_overdue(store, items, clock=clock) == 0


async def test_a_new_deadline_is_escalated_again(store: Store) -> None:
    items = await overdue_items(store)
    await escalate_overdue(store, items, clock=clock)
    later = OverdueItem(items[1].aggregate_id, "change_request", "decision", DUE.replace(day=12))
    assert await escalate_overdue(store, [later], clock=clock) == 1
    assert len(await escalations(store, later.aggregate_id)) == 2


async def test_an_item_no_longer_pending_is_skipped(store: Store) -> None:
    items = await overdue_items(store)
    await crs.withdraw_change_request(
        store, change_request_id=items[1].aggregate_id, reason="moot", by=by(PM), options=OPTS
    )
    assert await escalate_overdue(store, items, clock=clock) == 2
    assert await escalations(store, items[1].aggregate_id) == []


async def test_an_item_not_yet_overdue_is_left_alone(store: Store) -> None:
    items = await overdue_items(store)
    not_due = [OverdueItem(i.aggregate_id, i.kind, i.item, NOW.date()) for i in items]
    assert await escalate_overdue(store, not_due, clock=clock) == 0
    tomorrow = lambda: NOW + timedelta(days=1)  # noqa: E731
    assert await escalate_overdue(store, not_due, clock=tomorrow) == 3


async def test_the_escalation_is_recorded_by_the_scheduler(store: Store) -> None:
    items = await overdue_items(store)
    await escalate_overdue(store, items[:1], clock=clock)
    (event,) = await events_of(store, items[0].aggregate_id, "EscalatedTo")
    assert event.by.person == "gateledger-scheduler"


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidValue):
        OverdueItem(UUID(int=1), "portfolio", "x", DUE)
