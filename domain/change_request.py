"""Change request aggregate: impact, routing by tolerance, board votes and the decision.

Its events are declared together at the top of the class, each with the fields it
stores in their stored order; every command checks, then calls a private
``@event(TheEvent)`` method that only assigns state. No ``from __future__ import
annotations`` here: eventsourcing makes the event classes frozen dataclasses from their
annotations, which must be real types.
"""

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.change_rules import (
    AMENDABLE,
    BEFORE_DECISION,
    DECIDABLE,
    OUTCOME,
    CRDecision,
    CRDecisionRecord,
    CRStatus,
    Impact,
    Route,
    cr_voters,
    require_board_approval,
    require_cr_decider,
    require_due,
    route_for,
)
from domain.checks import parse_enum, require_new_escalation, require_recipient, require_text
from domain.duties import refuse_configurers
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import Vote, VoteRecord, same_vote
from domain.money import Money, require_money_in
from domain.policy import DEFAULT_CHANGE_POLICY, Actor, Board, DecisionPolicy
from domain.timed import TimedAggregate

__all__ = ["CRDecision", "CRDecisionRecord", "CRStatus", "ChangeRequest", "Route", "route_for"]


class ChangeRequest(TimedAggregate):
    class Event(TimedAggregate.Event):
        """Every event of a change request: its body sees the event's time as
        ``modified_on``."""

    # --- the events ----------------------------------------------------------------
    # Each is stored as "ChangeRequest.<its name>" (domain/stored_names.py) with these
    # fields in this order; a stored shape never changes in place (docs/stored-names.md).

    class Created(Event, Aggregate.Created):
        project_id: UUID
        portfolio_id: UUID
        impact: Impact
        by: Actor

    class Amended(Event):
        impact: Impact
        route: Route | None
        due: date | None
        by: Actor

    class Submitted(Event):
        route: Route
        due: date
        by: Actor

    class Assessed(Event):
        assessment: str
        by: Actor

    class Withdrawn(Event):
        reason: str
        by: Actor

    class VoteCast(Event):
        vote: Vote
        rationale: str
        by: Actor

    class VoteChanged(Event):
        vote: Vote
        rationale: str
        by: Actor

    class Decided(Event):
        decision: CRDecision
        rationale: str
        votes: tuple[VoteRecord, ...]  # the votes the decision rests on
        by: Actor

    class Implemented(Event):
        by: Actor

    class Escalated(Event):
        item: str  # what is overdue and whose: "vote:dave", "decision:carol"
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
        title: str,
        description: str,
        cost_delta: Money,
        schedule_delta_days: int,
        scope: str,
        risk: str,
        by: Actor,
        pm: str,
        *,
        currency: str,
    ) -> "ChangeRequest":
        """``currency``: the project's (its portfolio's) one currency."""
        if by.acting_as != pm:
            raise NotAllowed("only the project's PM may raise a change request")
        impact = Impact(title, description, cost_delta, schedule_delta_days, scope, risk)
        require_money_in(cost_delta, "cost_delta", currency)
        return cls(id=id, project_id=project_id, portfolio_id=portfolio_id, impact=impact, by=by)

    @event(Created)
    def __init__(
        self, id: UUID, project_id: UUID, portfolio_id: UUID, impact: Impact, by: Actor
    ) -> None:
        self.project_id = project_id
        self.portfolio_id = portfolio_id
        self._apply_impact(impact)
        self.submitter = by.acting_as
        self.status = CRStatus.DRAFT
        self.route: Route | None = None
        self.due: date | None = None
        self.assessment: str | None = None
        self.votes: tuple[VoteRecord, ...] = ()
        self.decisions: tuple[CRDecisionRecord, ...] = ()
        self.escalations: tuple[tuple[str, date], ...] = ()
        self.created_by = by

    # --- queries -------------------------------------------------------------------

    @property
    def decision(self) -> CRDecisionRecord | None:
        """The latest decision (a deferred CR may be decided again later)."""
        return self.decisions[-1] if self.decisions else None

    def vote_of(self, voter: str) -> VoteRecord | None:
        return next((v for v in self.votes if v.voter == voter), None)

    # --- drafting ------------------------------------------------------------------

    def amend(
        self,
        title: str,
        description: str,
        cost_delta: Money,
        schedule_delta_days: int,
        scope: str,
        risk: str,
        by: Actor,
        route: Route | None = None,
        due: date | None = None,
        currency: str | None = None,
    ) -> None:
        """A draft is amended without ``route``/``due``; a submitted, assessed or deferred
        CR needs both (recomputed by the workflow) and goes back to SUBMITTED without
        votes or assessment (a deferred one is thereby submitted again). ``currency``: the
        project's (by default the one the CR's cost delta is in)."""
        self._require_submitter(by, "amend")
        if self.status not in AMENDABLE:
            raise RuleViolation(f"a {self.status.value} change request cannot be amended")
        impact = Impact(title, description, cost_delta, schedule_delta_days, scope, risk)
        require_money_in(cost_delta, "cost_delta", currency or self.cost_delta.currency)
        if self.status is CRStatus.DRAFT:
            if route is not None or due is not None:
                raise InvalidValue("a draft is routed when it is submitted, not when amended")
        else:
            route = parse_enum(Route, route)
            require_due(due)
        self._amended(impact=impact, route=route, due=due, by=by)

    @event(Amended)
    def _amended(self, impact: Impact, route: Route | None, due: date | None, by: Actor) -> None:
        self._apply_impact(impact)
        if self.status is not CRStatus.DRAFT:
            self.status = CRStatus.SUBMITTED
            self.route, self.due = route, due
            self.assessment = None
            self.votes = ()

    def submit(self, route: Route, due: date, by: Actor) -> None:
        self._require_submitter(by, "submit")
        if self.status is not CRStatus.DRAFT:
            raise RuleViolation(f"only a draft can be submitted, this one is {self.status}")
        route = parse_enum(Route, route)
        require_due(due)
        self._submitted(route=route, due=due, by=by)

    @event(Submitted)
    def _submitted(self, route: Route, due: date, by: Actor) -> None:
        self.status = CRStatus.SUBMITTED
        self.route, self.due = route, due

    def assess(self, assessment: str, by: Actor) -> None:
        require_text(assessment, "assessment")
        if by.involves_any((self.submitter,)):
            raise NotAllowed("the submitter (or their delegate) cannot assess their own CR")
        if self.status is not CRStatus.SUBMITTED:
            raise RuleViolation(f"only a submitted CR can be assessed, this one is {self.status}")
        self._assessed(assessment=assessment, by=by)

    @event(Assessed)
    def _assessed(self, assessment: str, by: Actor) -> None:
        self.status = CRStatus.ASSESSED
        self.assessment = assessment

    def withdraw(self, reason: str, by: Actor) -> None:
        self._require_submitter(by, "withdraw")
        require_text(reason, "reason")
        if self.status not in BEFORE_DECISION or self.decisions:
            # A deferral is a decision, also after the CR was amended and submitted again.
            raise RuleViolation(f"withdraw after decision refused (the CR is {self.status})")
        self._withdrawn(reason=reason, by=by)

    @event(Withdrawn)
    def _withdrawn(self, reason: str, by: Actor) -> None:
        self.status = CRStatus.WITHDRAWN

    # --- voting and deciding -------------------------------------------------------

    def cast_vote(
        self,
        vote: Vote,
        rationale: str,
        by: Actor,
        board: Board,
        sponsor: str,
        policy: DecisionPolicy = DEFAULT_CHANGE_POLICY,
        configured_by: tuple[str, ...] = (),
    ) -> None:
        """``configured_by``: who configured the governance (``Project.configurers``)."""
        vote = parse_enum(Vote, vote)
        require_text(rationale, "vote rationale")
        if self.route is not Route.BOARD or self.status not in DECIDABLE:
            raise RuleViolation("only a CR escalated to the board and awaiting decision is voted")
        if by.acting_as not in cr_voters(board, sponsor, policy):
            raise NotAllowed(f"{by.acting_as} is neither a gatekeeper nor a mandatory voter")
        self._refuse_submitter(by, "vote on")
        refuse_configurers(by, configured_by, "vote")
        earlier = self.vote_of(by.acting_as)
        if earlier is not None and same_vote(earlier, vote, rationale, by):
            return  # a repeated vote changes nothing, so it records nothing
        cast = self._vote_changed if earlier is not None else self._vote_cast
        cast(vote=vote, rationale=rationale, by=by)

    @event(VoteCast)
    def _vote_cast(self, vote: Vote, rationale: str, by: Actor) -> None:
        self._record_vote(vote, rationale, by)

    @event(VoteChanged)
    def _vote_changed(self, vote: Vote, rationale: str, by: Actor) -> None:
        self._record_vote(vote, rationale, by)

    def decide(
        self,
        decision: CRDecision,
        rationale: str,
        by: Actor,
        board: Board,
        sponsor: str,
        policy: DecisionPolicy,
        configured_by: tuple[str, ...] = (),
    ) -> None:
        """``configured_by`` as for ``cast_vote``; their votes do not count either."""
        decision = parse_enum(CRDecision, decision)
        if self.status not in DECIDABLE:
            raise RuleViolation(f"a {self.status.value} change request cannot be decided")
        if decision is CRDecision.DEFER and any(
            d.decision is CRDecision.DEFER for d in self.decisions
        ):  # once, also after an amendment submitted it again
            raise RuleViolation("the change request was already deferred once")
        require_cr_decider(self.route, by, board, sponsor, policy)
        self._refuse_submitter(by, "decide")
        refuse_configurers(by, configured_by, "decide")
        require_text(rationale, "decision rationale")
        if self.route is Route.BOARD and decision is CRDecision.APPROVE:
            require_board_approval(self.votes, board, sponsor, policy, configured_by)
        self._decided(decision=decision, rationale=rationale, votes=self.votes, by=by)

    @event(Decided)
    def _decided(
        self, decision: CRDecision, rationale: str, votes: tuple[VoteRecord, ...], by: Actor
    ) -> None:
        assert self.route is not None
        record = CRDecisionRecord(decision, rationale, by, self.route, votes, self.modified_on)
        self.decisions = (*self.decisions, record)
        self.status = OUTCOME[decision]

    def mark_implemented(self, by: Actor) -> None:
        if self.status is not CRStatus.APPROVED:
            raise RuleViolation(f"only an approved CR is implemented, this one is {self.status}")
        self._implemented(by=by)

    @event(Implemented)
    def _implemented(self, by: Actor) -> None:
        self.status = CRStatus.IMPLEMENTED

    def escalate(self, item: str, due: date, by: Actor, to: str = "") -> None:
        """Recorded once per (item, due), only while the CR awaits a decision."""
        require_new_escalation(self.escalations, item, due)
        if self.status not in DECIDABLE:
            raise RuleViolation(f"a {self.status.value} change request awaits no decision")
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

    def _require_submitter(self, by: Actor, what: str) -> None:
        if by.acting_as != self.submitter:
            raise NotAllowed(f"only the submitter may {what} a change request")

    def _refuse_submitter(self, by: Actor, what: str) -> None:
        if by.involves_any((self.submitter,)):
            raise NotAllowed(f"the submitter (or anyone acting for them) cannot {what} this CR")

    def _apply_impact(self, impact: Impact) -> None:
        self.title, self.description = impact.title, impact.description
        self.cost_delta: Money = impact.cost_delta
        self.schedule_delta_days: int = impact.schedule_delta_days
        self.scope, self.risk = impact.scope, impact.risk

    def _record_vote(self, vote: Vote, rationale: str, by: Actor) -> None:
        record = VoteRecord(by.acting_as, by.person, vote, rationale, (), self.modified_on)
        self.votes = (*(v for v in self.votes if v.voter != record.voter), record)
