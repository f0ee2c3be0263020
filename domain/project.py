"""Project aggregate: stage-gate reviews on top of ``ProjectChanges`` (change requests,
sign-offs, escalations) and ``ProjectBase`` (roles, lifecycle).

No ``from __future__ import annotations`` here: eventsourcing inspects the @event
methods' annotations to define the event classes.
"""

from uuid import UUID

from eventsourcing.domain import event

from domain.checks import as_tuple, parse_enum, require_person, require_text
from domain.duties import refuse_configurers
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import (
    Condition,
    ConditionSpec,
    Decision,
    DecisionRecord,
    Evidence,
    Review,
    Vote,
    VoteRecord,
    check_conditions,
    check_no_open_conditions,
    check_seen_position,
    evidence_tuple,
    same_vote,
)
from domain.money import require_money_in
from domain.policy import Actor, Baseline, Board, GovernanceTemplate, Tolerances
from domain.project_changes import ProjectChanges
from domain.project_rules import (
    CLOSED_STAGE,
    INITIAL_STAGE,
    REVIEWABLE,
    ProjectStatus,
    check_approvals,
    check_decider,
    check_required_signoffs,
    closes_project,
)

__all__ = ["CLOSED_STAGE", "Project", "ProjectStatus"]


class Project(ProjectChanges):
    @classmethod
    def create(
        cls,
        id: UUID,
        portfolio_id: UUID,
        name: str,
        pm: str,
        sponsor: str,
        baseline: Baseline,
        tolerances: Tolerances,
        template: GovernanceTemplate,
        by: Actor,
        *,
        portfolio_currency: str,
    ) -> "Project":
        """``portfolio_currency``: the portfolio's one currency, the budget's too."""
        require_text(name, "project name")
        require_person(pm, "project manager")
        require_person(sponsor, "sponsor")
        if pm == sponsor:
            raise InvalidValue("the PM and the sponsor must be different people")
        if by.involves_any((sponsor,)):
            raise InvalidValue("sponsor: who creates a project cannot be its sponsor")
        if not isinstance(baseline, Baseline) or not isinstance(tolerances, Tolerances):
            raise InvalidValue("a project needs a Baseline and Tolerances")
        if not isinstance(template, GovernanceTemplate):
            raise InvalidValue("a project needs a GovernanceTemplate")
        require_money_in(baseline.budget, "baseline.budget", portfolio_currency)
        return cls(
            id=id,
            portfolio_id=portfolio_id,
            name=name,
            pm=pm,
            sponsor=sponsor,
            baseline=baseline,
            tolerances=tolerances,
            template=template,
            by=by,
        )

    @event("Created")
    def __init__(
        self,
        id: UUID,
        portfolio_id: UUID,
        name: str,
        pm: str,
        sponsor: str,
        baseline: Baseline,
        tolerances: Tolerances,
        template: GovernanceTemplate,
        by: Actor,
    ) -> None:
        self.portfolio_id = portfolio_id
        self.name = name
        self.pm = pm
        self.sponsor = sponsor
        self.stakeholders: tuple[str, ...] = ()
        self.baseline = baseline
        self.tolerances = tolerances
        self.template = template
        self.status = ProjectStatus.PROPOSED
        self.stage = INITIAL_STAGE
        self.gates_passed = 0
        self.review: Review | None = None
        self.decisions: tuple[DecisionRecord, ...] = ()
        self.conditions: tuple[Condition, ...] = ()
        self.created_by = by
        self._init_changes(baseline)

    # --- requesting a review -------------------------------------------------------

    def request_review(
        self,
        gate: str,
        evidence: tuple[Evidence, ...],
        by: Actor,
        completed_signoffs: frozenset[str] = frozenset(),
    ) -> None:
        evidence = evidence_tuple(evidence)
        self._require_pm(by, "request a gate review")
        if self.status not in REVIEWABLE:
            raise RuleViolation(f"a {self.status.value} project cannot request a gate review")
        definition = self.gate_definition(gate)
        if gate != self.next_gate:
            raise RuleViolation(f"gate {gate} is not the next gate (next: {self.next_gate})")
        if self.review is not None:
            raise RuleViolation(f"the review of gate {self.review.gate} is still open")
        check_no_open_conditions(self.conditions)
        check_required_signoffs(definition, completed_signoffs)
        self._review_requested(
            gate=gate, evidence=evidence, signoffs=tuple(sorted(completed_signoffs)), by=by
        )

    @event("ReviewRequested")
    def _review_requested(
        self, gate: str, evidence: tuple[Evidence, ...], signoffs: tuple[str, ...], by: Actor
    ) -> None:
        self.review = Review(
            gate=gate,
            requested_by=by,
            evidence=evidence,
            requested_at=self.modified_on,
            due=self._vote_due(gate),
        )

    def amend_evidence(self, gate: str, evidence: tuple[Evidence, ...], by: Actor) -> None:
        evidence = evidence_tuple(evidence)
        self._require_pm(by, "amend gate evidence")
        self._open_review(gate)
        self._evidence_amended(gate=gate, evidence=evidence, by=by)

    @event("EvidenceAmended")
    def _evidence_amended(self, gate: str, evidence: tuple[Evidence, ...], by: Actor) -> None:
        assert self.review is not None
        self.review = self.review.with_evidence(evidence, self._vote_due(gate))

    # --- voting and deciding -------------------------------------------------------

    def cast_vote(
        self,
        gate: str,
        vote: Vote,
        rationale: str,
        by: Actor,
        board: Board,
        configured_by: tuple[str, ...] = (),
    ) -> None:
        """``configured_by``: who configured the portfolio's governance (its
        ``configured_by``); they, and this project's creator, never vote."""
        review = self._open_review(gate)
        vote = parse_enum(Vote, vote)
        require_text(rationale, "vote rationale")
        if by.acting_as not in self._voters(gate, board):
            raise NotAllowed(f"{by.acting_as} is neither a gatekeeper nor a mandatory voter")
        self._refuse_requester(by, review, "vote on")
        refuse_configurers(by, self.configurers(configured_by), "vote")
        earlier = review.vote_of(by.acting_as)
        if earlier is not None and same_vote(earlier, vote, rationale, by):
            return  # a repeated vote changes nothing, so it records nothing
        cast = self._vote_changed if earlier is not None else self._vote_cast
        cast(gate=gate, vote=vote, rationale=rationale, evidence=review.evidence, by=by)

    @event("VoteCast")
    def _vote_cast(
        self, gate: str, vote: Vote, rationale: str, evidence: tuple[Evidence, ...], by: Actor
    ) -> None:
        self._record_vote(vote, rationale, evidence, by)

    @event("VoteChanged")
    def _vote_changed(
        self, gate: str, vote: Vote, rationale: str, evidence: tuple[Evidence, ...], by: Actor
    ) -> None:
        self._record_vote(vote, rationale, evidence, by)

    def decide(
        self,
        gate: str,
        decision: Decision,
        rationale: str,
        by: Actor,
        board: Board,
        conditions: tuple[ConditionSpec, ...] = (),
        seen_position: int | None = None,
        configured_by: tuple[str, ...] = (),
        log_head: int | None = None,
    ) -> None:
        """``configured_by`` as for ``cast_vote``; their votes do not count either.
        ``log_head``: the log's last position (a ``seen_position`` past it is refused)."""
        review = self._open_review(gate)
        decision = parse_enum(Decision, decision)
        policy = self.gate_definition(gate).policy
        check_decider(by, policy, board, gate)
        self._refuse_requester(by, review, "decide")
        barred = self.configurers(configured_by)
        refuse_configurers(by, barred, "decide")
        require_text(rationale, "decision rationale")
        conditions = as_tuple(conditions, "conditions")
        check_conditions(decision, conditions, {c.id for c in self.conditions})
        check_seen_position(seen_position, log_head)
        if decision.advances:
            holders, voters = self.role_holders(board), self._voters(gate, board)
            check_approvals(decision, policy, review.votes, holders, voters, barred)
        self._gate_decided(
            gate=gate,
            decision=decision,
            rationale=rationale,
            votes=review.votes,
            seen_position=seen_position,
            conditions=conditions,
            by=by,
            closes=closes_project(self.template, gate, decision),
        )

    @event("GateDecided")
    def _gate_decided(
        self,
        gate: str,
        decision: Decision,
        rationale: str,
        votes: tuple[VoteRecord, ...],
        seen_position: int | None,
        conditions: tuple[ConditionSpec, ...],
        by: Actor,
        closes: bool | None = None,
    ) -> None:
        record = DecisionRecord(
            gate, decision, rationale, by, votes, seen_position, conditions, self.modified_on
        )
        self.decisions = (*self.decisions, record)
        self.review = None
        if decision.advances:
            self.stage = self.template.gate(gate).opens_stage
            self.gates_passed = self.template.index_of(gate) + 1
            if closes is None:  # decided before events said so: the rule of that time
                closes = self.stage == CLOSED_STAGE
            self.status = ProjectStatus.CLOSED if closes else ProjectStatus.ACTIVE
            new = tuple(Condition(c.id, gate, c.description, c.owner, c.due) for c in conditions)
            self.conditions = (*self.conditions, *new)
        elif decision is Decision.HOLD:
            self.status = ProjectStatus.ON_HOLD
        elif decision is Decision.KILL:
            self.status = ProjectStatus.CANCELLED

    # --- helpers -------------------------------------------------------------------

    def _record_vote(
        self, vote: Vote, rationale: str, evidence: tuple[Evidence, ...], by: Actor
    ) -> None:
        assert self.review is not None
        record = VoteRecord(by.acting_as, by.person, vote, rationale, evidence, self.modified_on)
        self.review = self.review.with_vote(record)
