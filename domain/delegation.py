"""Delegation book: every delegation one person (the delegator) has granted.

One aggregate per delegator (id ``delegation_book_id(person)``), so granting, revoking
and asking "does B act for A at this moment" read one stream. Its events are
declared together at the top of the class. No ``from __future__ import annotations``
here: eventsourcing makes the event classes frozen dataclasses from their annotations.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.bounds import require_time
from domain.checks import require_days, require_person, require_text
from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.policy import Actor
from domain.timed import TimedAggregate

DELEGATION_NAMESPACE = UUID("5d7f3a0e-8c1b-4c2e-9f6a-2b3d4e5f6a7b")
DEFAULT_MAX_DAYS = 90


def delegation_book_id(person: str) -> UUID:
    """The id of ``person``'s delegation book (stable: derived from the person id)."""
    return uuid5(DELEGATION_NAMESPACE, "delegations:" + require_person(person, "delegator"))


@dataclass(frozen=True)
class Delegation:
    id: UUID
    delegate: str
    starts: datetime
    ends: datetime
    portfolio_id: UUID | None = None
    project_id: UUID | None = None
    revoked: bool = False
    revoked_reason: str = ""
    revoked_at: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        return not self.revoked and self.starts <= at < self.ends

    def covers(self, portfolio_id: UUID | None, project_id: UUID | None) -> bool:
        """No scope covers everything; a scope must match what is being acted on."""
        portfolio_ok = self.portfolio_id is None or self.portfolio_id == portfolio_id
        return portfolio_ok and (self.project_id is None or self.project_id == project_id)


class DelegationBook(TimedAggregate):
    class Event(TimedAggregate.Event):
        """Every event of a delegation book: its body sees the event's time as
        ``modified_on``."""

    # --- the events ----------------------------------------------------------------
    # Each is stored as "Delegation.<its name>" (domain/stored_names.py) with these
    # fields in this order; a stored shape never changes in place (docs/stored-names.md).

    class Created(Event, Aggregate.Created):
        delegator: str
        by: Actor

    class Delegated(Event):
        delegation: Delegation
        by: Actor

    class Revoked(Event):
        delegation_id: UUID
        reason: str
        by: Actor

    # --- state and commands --------------------------------------------------------

    @classmethod
    def create(cls, id: UUID, delegator: str, by: Actor) -> "DelegationBook":
        require_person(delegator, "delegator")
        _require_delegator(delegator, by)
        return cls(id=id, delegator=delegator, by=by)

    @event(Created)
    def __init__(self, id: UUID, delegator: str, by: Actor) -> None:
        self.delegator = delegator
        self.delegations: tuple[Delegation, ...] = ()
        self.created_by = by

    # --- queries -------------------------------------------------------------------

    def delegation(self, delegation_id: UUID) -> Delegation:
        found = next((d for d in self.delegations if d.id == delegation_id), None)
        if found is None:
            raise NotFound(f"delegation {delegation_id} does not exist")
        return found

    def grants(
        self,
        delegate: str,
        at: datetime,
        portfolio_id: UUID | None = None,
        project_id: UUID | None = None,
    ) -> UUID | None:
        """The id of a delegation letting ``delegate`` act for the delegator at ``at`` on
        this portfolio/project, or None (revoked and expired delegations grant nothing)."""
        _require_aware(at, "at")
        for d in self.delegations:
            if d.delegate == delegate and d.active_at(at) and d.covers(portfolio_id, project_id):
                return d.id
        return None

    # --- commands ------------------------------------------------------------------

    def delegate(
        self,
        delegation_id: UUID,
        delegate: str,
        starts: datetime,
        ends: datetime,
        now: datetime,
        by: Actor,
        portfolio_id: UUID | None = None,
        project_id: UUID | None = None,
        max_days: int = DEFAULT_MAX_DAYS,
    ) -> None:
        _require_delegator(self.delegator, by)
        require_person(delegate, "delegate")
        if delegate == self.delegator:
            raise InvalidValue("nobody delegates to themselves")
        if any(d.id == delegation_id for d in self.delegations):
            raise RuleViolation(f"delegation {delegation_id} already exists")
        _require_aware(now, "now")
        # In UTC and inside the range every read model can hold (see domain.bounds).
        starts, ends = require_time(starts, "starts"), require_time(ends, "ends")
        if ends <= starts:
            raise InvalidValue("a delegation must end after it starts")
        if ends <= now:
            raise InvalidValue("a delegation that has already ended grants nothing")
        require_days(max_days, "max_days", low=1)
        if ends - starts > timedelta(days=max_days):
            raise InvalidValue(f"a delegation lasts at most {max_days} days")
        grant = Delegation(delegation_id, delegate, starts, ends, portfolio_id, project_id)
        self._delegated(delegation=grant, by=by)

    @event(Delegated)
    def _delegated(self, delegation: Delegation, by: Actor) -> None:
        self.delegations = (*self.delegations, delegation)

    def revoke(self, delegation_id: UUID, reason: str, by: Actor, as_pmo: bool = False) -> None:
        """The delegator revokes, in person; or the PMO (``as_pmo``: the caller holds
        ``pmo_admin``, which the workflow checked), also in person, with a reason."""
        if as_pmo:
            if len(by.people) > 1:
                raise NotAllowed("the PMO revokes a delegation in person")
        else:
            _require_delegator(self.delegator, by)
        require_text(reason, "reason")
        if self.delegation(delegation_id).revoked:
            raise RuleViolation(f"delegation {delegation_id} is already revoked")
        self._revoked(delegation_id=delegation_id, reason=reason, by=by)

    @event(Revoked)
    def _revoked(self, delegation_id: UUID, reason: str, by: Actor) -> None:
        self.delegations = tuple(
            replace(d, revoked=True, revoked_reason=reason, revoked_at=self.modified_on)
            if d.id == delegation_id
            else d
            for d in self.delegations
        )


def _require_delegator(delegator: str, by: Actor) -> None:
    """Only the delegator, in person: a delegate cannot pass the authority on."""
    if by.person != delegator or len(by.people) > 1:
        raise NotAllowed(f"only {delegator} may manage their own delegations")


def _require_aware(value: object, what: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidValue(f"{what} must be a timezone-aware datetime")
