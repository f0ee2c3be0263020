"""Who may act for whom: delegation checks and the clock values use cases take.

A delegated actor (``Actor(person, on_behalf_of)``) uses the delegator's authority only
while the delegator's ``DelegationBook`` holds an active delegation to ``person`` that
covers the portfolio/project acted on, at the ``now`` the caller passes in. The rules
about WHAT the delegator may do (gatekeeper, sponsor, separation of duties) stay in the
domain: this module only answers "does B really act for A at this moment".
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from domain.delegation import DelegationBook, delegation_book_id
from domain.errors import InvalidValue, NotAllowed
from domain.policy import Actor
from workflows.errors import UnknownAggregate
from workflows.uow import UnitOfWork


def is_delegated(by: Actor) -> bool:
    """True when ``by`` claims to act with somebody else's authority."""
    return by.on_behalf_of is not None and by.on_behalf_of != by.person


async def authorise(
    uow: UnitOfWork,
    by: Actor,
    now: datetime,
    *,
    portfolio_id: UUID | None,
    project_id: UUID | None,
) -> Actor:
    """Return ``by`` unchanged when it acts in person or under an active delegation that
    covers this portfolio/project at ``now``; otherwise raise NotAllowed."""
    if not is_delegated(by):
        return by
    require_aware(now)
    delegator = by.on_behalf_of
    assert delegator is not None
    refusal = NotAllowed(f"{by.person} holds no active delegation from {delegator}")
    try:
        book = await uow.get(DelegationBook, delegation_book_id(delegator))
    except UnknownAggregate:
        raise refusal from None
    if book.grants(by.person, now, portfolio_id, project_id) is None:
        raise refusal
    return by


def require_in_person(by: Actor, what: str) -> None:
    """Refuse a delegated actor for commands no delegation covers (delegations carry a
    gatekeeper's or sponsor's decision authority only)."""
    if is_delegated(by):
        raise NotAllowed(f"{what} cannot be done on someone else's behalf")


def require_aware(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidValue("now must be a timezone-aware datetime")
    return now


def today(now: datetime) -> date:
    """The UTC calendar date of ``now`` (due dates are counted in UTC days)."""
    return require_aware(now).astimezone(UTC).date()
