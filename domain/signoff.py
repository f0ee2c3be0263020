"""Sign-off aggregate: named stakeholders sign off one version of a deliverable.

Its events are declared together at the top of the class, each with the fields it
stores in their stored order; every command checks, then calls a private
``@event(TheEvent)`` method that only assigns state. No ``from __future__ import
annotations`` here: eventsourcing makes the event classes frozen dataclasses from their
annotations, which must be real types.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.bounds import require_date
from domain.checks import (
    as_tuple,
    require_new_escalation,
    require_note,
    require_person,
    require_recipient,
    require_text,
)
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.policy import Actor
from domain.seats import owed_signatures
from domain.timed import TimedAggregate


class SignOffStatus(StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    DECLINED = "declined"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Signature:
    """A signatory's answer: signed (``declined`` False) or declined, with a comment."""

    person: str
    comment: str
    at: datetime
    declined: bool = False


@dataclass(frozen=True)
class SignOffSummary:
    """What the project records of one sign-off request (see ``Project.signoffs``)."""

    id: UUID
    deliverable: str
    version: str
    signatories: tuple[str, ...]
    status: SignOffStatus = SignOffStatus.OPEN


def signatory_tuple(signatories: tuple[str, ...]) -> tuple[str, ...]:
    people = as_tuple(signatories, "signatories")
    if not people:
        raise InvalidValue("a sign-off needs at least one signatory")
    for person in people:
        require_person(person, "signatory")
    if len(set(people)) != len(people):
        raise InvalidValue("signatories must be unique")
    return people


class SignOff(TimedAggregate):
    class Event(TimedAggregate.Event):
        """Every event of a sign-off request: its body sees the event's time as
        ``modified_on``."""

    # --- the events ----------------------------------------------------------------
    # Each is stored as "SignOff.<its name>" (domain/stored_names.py) with these fields
    # in this order; a stored shape never changes in place (docs/stored-names.md).

    class Requested(Event, Aggregate.Created):  # the sign-off's first event
        project_id: UUID
        portfolio_id: UUID
        deliverable: str
        version: str
        content_hash: str
        signatories: tuple[str, ...]
        due: date
        by: Actor

    class Signed(Event):
        comment: str
        by: Actor

    class Declined(Event):
        comment: str
        by: Actor

    class Superseded(Event):
        by_request: UUID
        by: Actor

    class Escalated(Event):
        item: str
        due: date
        by: Actor

    class EscalatedTo(Event):
        """An escalation that names whom it goes to (the chair, or the portfolio's PMO)."""

        item: str
        due: date
        to: str
        by: Actor

    # --- state and commands --------------------------------------------------------

    @classmethod
    def create(
        cls,
        id: UUID,
        project_id: UUID,
        portfolio_id: UUID,
        deliverable: str,
        version: str,
        content_hash: str,
        signatories: tuple[str, ...],
        due: date,
        by: Actor,
        pm: str,
    ) -> "SignOff":
        """Only the PM requests; the PM (or whoever acts for them) never signs their own
        deliverable (separation of duties)."""
        if by.acting_as != pm:
            raise NotAllowed("only the project's PM may request a sign-off")
        for value, what in ((deliverable, "deliverable"), (version, "version")):
            require_text(value, what)
        require_text(content_hash, "content hash")
        signatories = signatory_tuple(signatories)
        if by.involves_any(signatories) or pm in signatories:
            raise NotAllowed("the PM cannot be a signatory of their own deliverable")
        if not isinstance(due, date):
            raise InvalidValue("a sign-off needs a due date")
        require_date(due, "the sign-off's due date")
        return cls(
            id=id,
            project_id=project_id,
            portfolio_id=portfolio_id,
            deliverable=deliverable,
            version=version,
            content_hash=content_hash,
            signatories=signatories,
            due=due,
            by=by,
        )

    @event(Requested)
    def __init__(
        self,
        id: UUID,
        project_id: UUID,
        portfolio_id: UUID,
        deliverable: str,
        version: str,
        content_hash: str,
        signatories: tuple[str, ...],
        due: date,
        by: Actor,
    ) -> None:
        self.project_id = project_id
        self.portfolio_id = portfolio_id
        self.deliverable = deliverable
        # ``version`` is the aggregate's own event count (eventsourcing), hence the name.
        self.deliverable_version = version
        self.content_hash = content_hash
        self.signatories = signatories
        self.due = due
        self.status = SignOffStatus.OPEN
        self.signatures: tuple[Signature, ...] = ()
        self.declined_by: Signature | None = None
        self.superseded_by: UUID | None = None
        self.escalations: tuple[tuple[str, date], ...] = ()
        self.requested_by = by

    # --- queries -------------------------------------------------------------------

    @property
    def is_complete(self) -> bool:
        return self.status is SignOffStatus.COMPLETE

    @property
    def pending_signatories(self) -> tuple[str, ...]:
        return tuple(owed_signatures(self.signatories, (s.person for s in self.signatures)))

    def summary(self) -> SignOffSummary:
        return SignOffSummary(
            self.id, self.deliverable, self.deliverable_version, self.signatories, self.status
        )

    # --- commands ------------------------------------------------------------------

    def sign(self, comment: str, by: Actor) -> None:
        """The signing that completes the list makes the sign-off COMPLETE."""
        if not isinstance(comment, str):
            raise InvalidValue("a sign-off comment must be text (empty is allowed)")
        require_note(comment, "comment")
        self._require_signatory(by)
        self._signed(comment=comment, by=by)

    @event(Signed)
    def _signed(self, comment: str, by: Actor) -> None:
        self.signatures = (*self.signatures, Signature(by.person, comment, self.modified_on))
        if not self.pending_signatories:
            self.status = SignOffStatus.COMPLETE

    def decline(self, comment: str, by: Actor) -> None:
        require_text(comment, "a comment explaining the decline")
        self._require_signatory(by)
        self._declined(comment=comment, by=by)

    @event(Declined)
    def _declined(self, comment: str, by: Actor) -> None:
        self.declined_by = Signature(by.person, comment, self.modified_on, declined=True)
        self.status = SignOffStatus.DECLINED

    def supersede(self, by_request: UUID, by: Actor) -> None:
        if not isinstance(by_request, UUID) or by_request == self.id:
            raise InvalidValue("a sign-off is superseded by another, newer request")
        self._require_open("superseded")
        self._superseded(by_request=by_request, by=by)

    @event(Superseded)
    def _superseded(self, by_request: UUID, by: Actor) -> None:
        self.status = SignOffStatus.SUPERSEDED
        self.superseded_by = by_request

    def escalate(self, item: str, due: date, by: Actor, to: str = "") -> None:
        """Recorded once per (item, due), only while the sign-off is open."""
        require_new_escalation(self.escalations, item, due)
        self._require_open("escalated")
        if to:
            self._escalated_to(item=item, due=due, to=require_recipient(to), by=by)
        else:  # as recorded before escalations named their recipient
            self._escalated(item=item, due=due, by=by)

    @event(EscalatedTo)
    def _escalated_to(self, item: str, due: date, to: str, by: Actor) -> None:
        self.escalations = (*self.escalations, (item, due))

    @event(Escalated)
    def _escalated(self, item: str, due: date, by: Actor) -> None:
        self.escalations = (*self.escalations, (item, due))

    # --- helpers -------------------------------------------------------------------

    def _require_signatory(self, by: Actor) -> None:
        if len(by.people) > 1:
            raise NotAllowed("a sign-off cannot be delegated: signatories sign in person")
        if by.person not in self.signatories:
            raise NotAllowed(f"{by.person} is not a signatory of this sign-off")
        self._require_open("answered")
        if by.person not in self.pending_signatories:
            raise RuleViolation(f"{by.person} has already signed")

    def _require_open(self, what: str) -> None:
        if self.status is not SignOffStatus.OPEN:
            raise RuleViolation(f"a {self.status.value} sign-off cannot be {what}")
