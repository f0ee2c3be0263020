"""Gate review value objects and the pure rules a gate decision rests on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from domain.bounds import MAX_POSITION, require_date, require_whole
from domain.checks import as_tuple, require_note, require_person, require_text
from domain.errors import InvalidValue, RuleViolation
from domain.policy import Actor, DecisionPolicy


class Vote(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ABSTAIN = "abstain"


class Decision(StrEnum):
    GO = "GO"
    CONDITIONAL_GO = "CONDITIONAL_GO"
    HOLD = "HOLD"
    RECYCLE = "RECYCLE"
    KILL = "KILL"

    @property
    def advances(self) -> bool:
        return self in (Decision.GO, Decision.CONDITIONAL_GO)


@dataclass(frozen=True)
class Evidence:
    title: str
    link: str = ""
    content_hash: str = ""

    def __post_init__(self) -> None:
        require_text(self.title, "evidence title")
        require_note(self.link, "evidence link")
        require_note(self.content_hash, "evidence content hash")


@dataclass(frozen=True)
class ConditionSpec:
    id: UUID
    description: str
    owner: str
    due: date

    def __post_init__(self) -> None:
        if not isinstance(self.id, UUID):
            raise InvalidValue("a condition needs a UUID id")
        require_text(self.description, "condition description")
        require_person(self.owner, "condition owner")
        if not isinstance(self.due, date):
            raise InvalidValue("a condition needs a due date")
        require_date(self.due, "condition due date")


@dataclass(frozen=True)
class VoteRecord:
    """The current vote of ``voter`` (whose authority), cast by ``cast_by`` (who typed it)."""

    voter: str
    cast_by: str
    vote: Vote
    rationale: str
    evidence: tuple[Evidence, ...]
    cast_at: datetime


def same_vote(earlier: VoteRecord, vote: Vote, rationale: str, by: Actor) -> bool:
    """Whether ``by`` casting ``vote`` with ``rationale`` repeats ``earlier`` exactly
    (same person typing it for the same voter, same vote, same rationale)."""
    return (earlier.cast_by, earlier.vote, earlier.rationale) == (by.person, vote, rationale)


@dataclass(frozen=True)
class Review:
    """The open review of one gate; ``votes`` holds each voter's current vote."""

    gate: str
    requested_by: Actor
    evidence: tuple[Evidence, ...]
    requested_at: datetime
    due: date
    votes: tuple[VoteRecord, ...] = ()

    @property
    def votes_by_voter(self) -> dict[str, VoteRecord]:
        return {v.voter: v for v in self.votes}

    def vote_of(self, voter: str) -> VoteRecord | None:
        return self.votes_by_voter.get(voter)

    def with_vote(self, record: VoteRecord) -> Review:
        others = tuple(v for v in self.votes if v.voter != record.voter)
        return replace(self, votes=(*others, record))

    def with_evidence(self, evidence: tuple[Evidence, ...], due: date) -> Review:
        """Amended evidence: earlier votes approved something else, so they are dropped."""
        return replace(self, evidence=evidence, due=due, votes=())


@dataclass(frozen=True)
class Condition:
    id: UUID
    gate: str
    description: str
    owner: str
    due: date
    closed: bool = False
    closed_by: Actor | None = None
    closing_note: str = ""
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return not self.closed


@dataclass(frozen=True)
class DecisionRecord:
    gate: str
    decision: Decision
    rationale: str
    decided_by: Actor
    votes: tuple[VoteRecord, ...]
    seen_position: int | None
    conditions: tuple[ConditionSpec, ...]
    timestamp: datetime


def evidence_tuple(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    items = as_tuple(evidence, "evidence")
    if not all(isinstance(e, Evidence) for e in items):
        raise InvalidValue("evidence items must be Evidence")
    return items


def resolve_voters(entries: Iterable[str], holders: Mapping[str, tuple[str, ...]]) -> set[str]:
    """Resolve role names ("sponsor") to the people holding them; others are person ids."""
    people: set[str] = set()
    for entry in entries:
        people.update(holders.get(entry, (entry,)))
    return people


def approval_shortfall(
    policy: DecisionPolicy,
    votes: Iterable[VoteRecord],
    mandatory: set[str],
    eligible: set[str],
    barred: Iterable[str] = (),
) -> list[str]:
    """What is still missing before a GO may be decided (empty when nothing is).

    The quorum counts people: an approval counts for the person who cast it, so one
    person's approvals (their own and those cast for others under delegations) count
    once. A vote still counts as its voter's for the record and for mandatory voters.
    Votes involving a ``barred`` person (who configured the governance) count for nothing.
    """
    excluded = set(barred)
    counted = [v for v in votes if v.voter in eligible and not excluded & {v.voter, v.cast_by}]
    current = {v.voter: v.vote for v in counted}
    people = len({v.cast_by for v in counted if v.vote is Vote.APPROVE})
    missing = []
    if people < policy.quorum:
        missing.append(
            f"quorum needs {policy.quorum} approvals, has {people} (the quorum counts "
            "people: one person's approvals, in person and for others, count once)"
        )
    for voter in sorted(mandatory):
        if current.get(voter) is not Vote.APPROVE:
            missing.append(f"mandatory voter {voter} has not approved")
    return missing


def check_conditions(
    decision: Decision, conditions: tuple[ConditionSpec, ...], known_ids: set[UUID]
) -> None:
    if not all(isinstance(c, ConditionSpec) for c in conditions):
        raise InvalidValue("conditions must be ConditionSpec values")
    if decision is Decision.CONDITIONAL_GO and not conditions:
        raise InvalidValue("CONDITIONAL_GO needs at least one condition")
    if decision is not Decision.CONDITIONAL_GO and conditions:
        raise InvalidValue(f"{decision.value} takes no conditions")
    ids = [c.id for c in conditions]
    if len(set(ids)) != len(ids) or known_ids.intersection(ids):
        raise InvalidValue("condition ids must be new and unique")


def check_seen_position(
    seen_position: int | None, log_head: int | None = None, requested_at: int | None = None
) -> None:
    """A position in the log: 0 .. a bigint, and never past ``log_head`` (the last
    position written, when the caller knows it): nobody saw a state not yet recorded.
    Nor before ``requested_at`` (the position of the review's request, when known): the
    deciders saw the review they decide."""
    if seen_position is None:
        return
    if isinstance(seen_position, bool) or not isinstance(seen_position, int):
        raise InvalidValue("seen_position must be an integer")
    if seen_position < 0:
        raise InvalidValue("seen_position must not be negative")
    require_whole(seen_position, "seen_position", 0, MAX_POSITION)
    if log_head is not None and seen_position > log_head:
        raise InvalidValue(
            f"seen_position: {seen_position} is past the log's head {log_head} "
            "(a decision records a state that was recorded)"
        )
    if requested_at is not None and seen_position < requested_at:
        raise InvalidValue(
            f"seen_position: {seen_position} is before the review's request at "
            f"{requested_at} (the deciders saw the review they decide)"
        )


def check_no_open_conditions(conditions: Iterable[Condition]) -> None:
    still_open = [c for c in conditions if c.is_open]
    if still_open:
        listed = "; ".join(f"{c.description} (owner {c.owner}, due {c.due})" for c in still_open)
        raise RuleViolation(f"open conditions must be closed first: {listed}")
