"""The Project aggregate: a project's roles and baseline, its stage-gate reviews, the
change requests applied to it, its sign-offs and escalations, in one class.

Its events are declared together at the top of the class, each with the fields it
stores in their stored order. Each command checks its rules (the longer ones are plain
functions in ``domain.project_rules`` and ``domain.project_signoffs``), then calls a
private ``@event(TheEvent)`` method that only assigns state. That body re-runs on every
replay; inside it ``self.modified_on`` is the timestamp of the event applied
(``TimedAggregate``).

No ``from __future__ import annotations`` here: eventsourcing makes the event classes
frozen dataclasses from their annotations, which must be real types.
"""

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.board_sanity import require_passable
from domain.checks import (
    as_tuple,
    parse_enum,
    require_new_escalation,
    require_person,
    require_recipient,
    require_text,
)
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
from domain.money import Money
from domain.policy import (
    Actor,
    Baseline,
    Board,
    GateDefinition,
    GovernanceTemplate,
    Role,
    Tolerances,
)
from domain.project_rules import (
    CLOSED_STAGE,
    HOLDABLE,
    INITIAL_STAGE,
    REVIEWABLE,
    TERMINAL,
    ProjectStatus,
    changed_baseline,
    check_approvals,
    check_condition_closing,
    check_condition_escalation,
    check_decider,
    check_new_project,
    check_rebaseline,
    check_required_signoffs,
    check_role_assignment,
    check_role_revocation,
    closes_project,
    gate_voters,
    project_role,
    role_holders,
    roles_of,
    with_condition_closed,
)
from domain.project_signoffs import (
    check_signed_evidence,
    completed_deliverables,
    new_signoff,
    open_signoff_id,
    require_open_signoff,
    signed_deliverables,
    with_signoff_status,
)
from domain.signoff import SignOffStatus, SignOffSummary
from domain.template_migration import check_migration
from domain.timed import TimedAggregate

__all__ = ["CLOSED_STAGE", "Project", "ProjectStatus"]


class Project(TimedAggregate):
    """A project under stage-gate governance: its events, then its state, commands and
    queries (see the module's docstring)."""

    # 2: snapshots hold original_budget .. escalations; older ones are upcast_v1_v2.
    class_version = 2

    class Event(TimedAggregate.Event):
        """Every event of a project: its body sees the event's time as ``modified_on``."""

    # --- the events ----------------------------------------------------------------
    # Each is stored as "Project.<its name>" (domain/stored_names.py) with its timestamp
    # and these fields, in this order. A stored shape never changes in place: a field is
    # added only at the end with a default, anything else is a new event or an upcaster
    # (docs/stored-names.md, pinned by tests/golden).

    class Created(Event, Aggregate.Created):
        portfolio_id: UUID
        name: str
        pm: str
        sponsor: str
        baseline: Baseline
        tolerances: Tolerances
        template: GovernanceTemplate  # the project's copy of its template version
        by: Actor

    class ReviewRequested(Event):
        gate: str
        evidence: tuple[Evidence, ...]
        signoffs: tuple[str, ...]  # the deliverables whose sign-off was complete
        by: Actor

    class EvidenceAmended(Event):
        gate: str
        evidence: tuple[Evidence, ...]
        by: Actor

    class VoteCast(Event):
        gate: str
        vote: Vote
        rationale: str
        evidence: tuple[Evidence, ...]  # what the vote was cast on
        by: Actor

    class VoteChanged(Event):
        gate: str
        vote: Vote
        rationale: str
        evidence: tuple[Evidence, ...]
        by: Actor

    class GateDecided(Event):
        gate: str
        decision: Decision
        rationale: str
        votes: tuple[VoteRecord, ...]  # the votes the decision rests on
        seen_position: int | None  # the log position of the state the deciders saw
        conditions: tuple[ConditionSpec, ...]
        by: Actor
        closes: bool | None = None  # absent in events recorded before it (see the body)

    class ConditionClosed(Event):
        condition_id: UUID
        note: str
        by: Actor

    class RoleAssigned(Event):
        person: str
        role: Role
        by: Actor
        reason: str = ""  # absent (read as "") in changes recorded before it was asked

    class RoleRevoked(Event):
        person: str
        role: Role
        by: Actor
        reason: str = ""  # absent (read as "") in changes recorded before it was asked

    class Cancelled(Event):
        reason: str
        by: Actor

    class PutOnHold(Event):
        reason: str
        by: Actor

    class Resumed(Event):
        reason: str
        by: Actor

    class Rebaselined(Event):
        previous: Baseline
        baseline: Baseline
        reason: str
        by: Actor

    class ChangeApplied(Event):
        change_request_id: UUID
        cost_delta: Money
        schedule_delta_days: int
        previous: Baseline
        baseline: Baseline
        reason: str
        by: Actor

    class SignOffRequested(Event):
        signoff: SignOffSummary
        by: Actor

    class SignOffCompleted(Event):
        signoff_id: UUID
        by: Actor

    class SignOffDeclined(Event):
        signoff_id: UUID
        by: Actor

    class SignOffSuperseded(Event):
        signoff_id: UUID
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

    class TemplateMigrated(Event):
        """The PMO moved the project to another template version (its past kept)."""

        previous_name: str
        previous_version: int
        template: GovernanceTemplate
        reason: str
        by: Actor

    # --- state ---------------------------------------------------------------------
    # In the order ``__init__`` sets it, which is the order a snapshot stores it in.

    if TYPE_CHECKING:  # declared for type checkers only: annotations would make a dataclass
        portfolio_id: UUID
        name: str
        pm: str
        sponsor: str
        stakeholders: tuple[str, ...]
        baseline: Baseline
        tolerances: Tolerances
        template: GovernanceTemplate
        status: ProjectStatus
        stage: str
        gates_passed: int
        review: Review | None
        decisions: tuple[DecisionRecord, ...]
        conditions: tuple[Condition, ...]
        created_by: Actor
        original_budget: Money
        approved_cost: Money
        approved_schedule_days: int
        applied_changes: tuple[UUID, ...]
        signoffs: tuple[SignOffSummary, ...]
        escalations: tuple[tuple[str, date], ...]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Best effort for old snapshots: the budget then is taken as the original one."""
        budget = state["baseline"].budget
        state.update(
            original_budget=budget,
            approved_cost=Money.zero(budget.currency),
            approved_schedule_days=0,
            applied_changes=(),
            signoffs=(),
            escalations=(),
        )

    # --- creating ------------------------------------------------------------------

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
        check_new_project(name, pm, sponsor, baseline, tolerances, template, by, portfolio_currency)
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

    @event(Created)
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
        self.stakeholders = ()
        self.baseline = baseline
        self.tolerances = tolerances
        self.template = template
        self.status = ProjectStatus.PROPOSED
        self.stage = INITIAL_STAGE
        self.gates_passed = 0
        self.review = None
        self.decisions = ()
        self.conditions = ()
        self.created_by = by
        self.original_budget = baseline.budget
        self.approved_cost = Money.zero(baseline.budget.currency)
        self.approved_schedule_days = 0
        self.applied_changes = ()
        self.signoffs = ()
        self.escalations = ()

    # --- queries -------------------------------------------------------------------

    @property
    def next_gate(self) -> str | None:
        gates = self.template.gates
        return gates[self.gates_passed].name if self.gates_passed < len(gates) else None

    @property
    def open_conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.is_open)

    @property
    def budget_currency(self) -> str:
        return self.baseline.budget.currency

    def gate_definition(self, gate: str) -> GateDefinition:
        return self.template.gate(gate)

    def configurers(self, portfolio_configurers: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Who configured the governance this project is decided under: the portfolio's
        configurers plus whoever created the project (naming its PM and sponsor)."""
        return (*portfolio_configurers, *self.created_by.people)

    def roles_of(self, person: str) -> frozenset[Role]:
        return roles_of(person, self.pm, self.sponsor, self.stakeholders)

    def role_holders(self, board: Board | None = None) -> dict[str, tuple[str, ...]]:
        """Role name -> people, used to resolve a policy's mandatory voters."""
        return role_holders(self.pm, self.sponsor, self.stakeholders, board)

    def completed_deliverables(self, gate: str) -> frozenset[str]:
        """The gate's required deliverables whose LATEST sign-off request is complete and
        was signed by the required signer (a named person, or the holder of a project role
        such as "sponsor" or "pm" now)."""
        holders = self.role_holders()
        return completed_deliverables(self.gate_definition(gate), self.signoffs, holders)

    def signed_deliverables(self, gate: str) -> dict[str, UUID]:
        """Each completed required deliverable of ``gate`` and the sign-off that completed
        it: evidence for it must carry that sign-off's content hash."""
        holders = self.role_holders()
        return signed_deliverables(self.gate_definition(gate), self.signoffs, holders)

    def open_signoff_for(self, deliverable: str) -> UUID | None:
        """The open request a new version of ``deliverable`` supersedes, if any."""
        return open_signoff_id(self.signoffs, deliverable)

    # --- gate reviews --------------------------------------------------------------

    def request_review(
        self,
        gate: str,
        evidence: tuple[Evidence, ...],
        by: Actor,
        completed_signoffs: frozenset[str] = frozenset(),
        signed_hashes: Mapping[str, str] | None = None,
    ) -> None:
        """``signed_hashes``: the content hash each completed deliverable was signed off
        with; evidence naming one must carry it."""
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
        check_signed_evidence(evidence, signed_hashes or {})
        self._review_requested(
            gate=gate, evidence=evidence, signoffs=tuple(sorted(completed_signoffs)), by=by
        )

    @event(ReviewRequested)
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

    def amend_evidence(
        self,
        gate: str,
        evidence: tuple[Evidence, ...],
        by: Actor,
        signed_hashes: Mapping[str, str] | None = None,
    ) -> None:
        evidence = evidence_tuple(evidence)
        self._require_pm(by, "amend gate evidence")
        self._open_review(gate)
        check_signed_evidence(evidence, signed_hashes or {})
        self._evidence_amended(gate=gate, evidence=evidence, by=by)

    @event(EvidenceAmended)
    def _evidence_amended(self, gate: str, evidence: tuple[Evidence, ...], by: Actor) -> None:
        assert self.review is not None
        self.review = self.review.with_evidence(evidence, self._vote_due(gate))

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

    @event(VoteCast)
    def _vote_cast(
        self, gate: str, vote: Vote, rationale: str, evidence: tuple[Evidence, ...], by: Actor
    ) -> None:
        self._record_vote(vote, rationale, evidence, by)

    @event(VoteChanged)
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
        requested_at: int | None = None,
    ) -> None:
        """``configured_by`` as for ``cast_vote``; their votes do not count either.
        ``log_head``: the log's last position (a ``seen_position`` past it is refused; with
        none given, the decision records the head). ``requested_at``: the position of the
        review's request (a ``seen_position`` before it is refused). Both are checked here
        only: the event records the position, so replay takes it as recorded."""
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
        if seen_position is None:
            seen_position = log_head
        check_seen_position(seen_position, log_head, requested_at)
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

    @event(GateDecided)
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

    def close_condition(self, condition_id: UUID, note: str, by: Actor) -> None:
        check_condition_closing(self.conditions, condition_id, self.pm, note, by)
        self._condition_closed(condition_id=condition_id, note=note, by=by)

    @event(ConditionClosed)
    def _condition_closed(self, condition_id: UUID, note: str, by: Actor) -> None:
        self.conditions = with_condition_closed(
            self.conditions, condition_id, note, by, self.modified_on
        )

    # --- roles ---------------------------------------------------------------------

    def assign_role(self, person: str, role: Role, by: Actor, reason: str = "") -> None:
        """PM and sponsor have one holder each (the new one replaces the old one); the
        reason is required by the API and the CLI."""
        require_person(person, "person")
        if reason:
            require_text(reason, "reason")
        role = project_role(role)
        check_role_assignment(person, role, self.roles_of(person), self.pm, self.sponsor, by)
        self._role_assigned(person=person, role=role, by=by, reason=reason)

    @event(RoleAssigned)
    def _role_assigned(self, person: str, role: Role, by: Actor, reason: str = "") -> None:
        if role is Role.PM:
            self.pm = person
        elif role is Role.SPONSOR:
            self.sponsor = person
        else:
            self.stakeholders = (*self.stakeholders, person)

    def revoke_role(self, person: str, role: Role, by: Actor, reason: str = "") -> None:
        if reason:
            require_text(reason, "reason")
        role = project_role(role)
        check_role_revocation(person, role, self.roles_of(person))
        self._role_revoked(person=person, role=role, by=by, reason=reason)

    @event(RoleRevoked)
    def _role_revoked(self, person: str, role: Role, by: Actor, reason: str = "") -> None:
        self.stakeholders = tuple(p for p in self.stakeholders if p != person)

    # --- administrative lifecycle --------------------------------------------------

    def cancel(self, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        self._require_not_terminal("cancelled")
        self._cancelled(reason=reason, by=by)

    @event(Cancelled)
    def _cancelled(self, reason: str, by: Actor) -> None:
        self.status = ProjectStatus.CANCELLED
        self.review = None

    def put_on_hold(self, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        if self.status not in HOLDABLE:
            raise RuleViolation(f"a {self.status.value} project cannot be put on hold")
        self._put_on_hold(reason=reason, by=by)

    @event(PutOnHold)
    def _put_on_hold(self, reason: str, by: Actor) -> None:
        self.status = ProjectStatus.ON_HOLD

    def resume(self, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        if self.status is not ProjectStatus.ON_HOLD:
            raise RuleViolation(f"only a project on hold can resume, this one is {self.status}")
        self._resumed(reason=reason, by=by)

    @event(Resumed)
    def _resumed(self, reason: str, by: Actor) -> None:
        self.status = ProjectStatus.ACTIVE if self.gates_passed else ProjectStatus.PROPOSED

    def rebaseline(self, baseline: Baseline, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        check_rebaseline(self.baseline, baseline)
        self._require_not_terminal("re-baselined")
        self._rebaselined(previous=self.baseline, baseline=baseline, reason=reason, by=by)

    @event(Rebaselined)
    def _rebaselined(self, previous: Baseline, baseline: Baseline, reason: str, by: Actor) -> None:
        self.baseline = baseline

    def migrate_template(
        self, template: GovernanceTemplate, reason: str, by: Actor, board: Board
    ) -> None:
        """Follow ``template`` from now on (``domain.template_migration``: the project's
        progress must map onto it; ``board``, the portfolio's, must reach its quorums).
        A member of the board cannot change the rules it decides under."""
        require_text(reason, "reason")
        if not isinstance(template, GovernanceTemplate):
            raise InvalidValue("template must be a GovernanceTemplate")
        open_review = self.review.gate if self.review is not None else None
        terminal = self.status in TERMINAL
        check_migration(
            self.template, template, self.gates_passed, terminal=terminal, open_review=open_review
        )
        if by.involves_any(board.members):
            raise NotAllowed("a member of the board cannot change the template it decides under")
        require_passable(template, board)
        self._template_migrated(
            previous_name=self.template.name,
            previous_version=self.template.version,
            template=template,
            reason=reason,
            by=by,
        )

    @event(TemplateMigrated)
    def _template_migrated(
        self,
        previous_name: str,
        previous_version: int,
        template: GovernanceTemplate,
        reason: str,
        by: Actor,
    ) -> None:
        self.template = template

    # --- change requests -----------------------------------------------------------

    def apply_change(
        self,
        change_request_id: UUID,
        cost_delta: Money,
        schedule_delta_days: int,
        reason: str,
        by: Actor,
    ) -> None:
        """Re-baseline for an approved CR: budget and end date move by its deltas."""
        require_text(reason, "reason")
        self._require_not_terminal("re-baselined")
        if change_request_id in self.applied_changes:
            raise RuleViolation(f"change request {change_request_id} is already applied")
        baseline = changed_baseline(self.baseline, cost_delta, schedule_delta_days)
        self._change_applied(
            change_request_id=change_request_id,
            cost_delta=cost_delta,
            schedule_delta_days=schedule_delta_days,
            previous=self.baseline,
            baseline=baseline,
            reason=reason,
            by=by,
        )

    @event(ChangeApplied)
    def _change_applied(
        self,
        change_request_id: UUID,
        cost_delta: Money,
        schedule_delta_days: int,
        previous: Baseline,
        baseline: Baseline,
        reason: str,
        by: Actor,
    ) -> None:
        self.baseline = baseline
        self.approved_cost = self.approved_cost + cost_delta
        self.approved_schedule_days += schedule_delta_days
        self.applied_changes = (*self.applied_changes, change_request_id)

    # --- sign-offs -----------------------------------------------------------------

    def record_signoff_requested(
        self,
        signoff_id: UUID,
        deliverable: str,
        version: str,
        signatories: tuple[str, ...],
        by: Actor,
    ) -> None:
        summary = new_signoff(self.signoffs, signoff_id, deliverable, version, signatories)
        self._signoff_requested(signoff=summary, by=by)

    @event(SignOffRequested)
    def _signoff_requested(self, signoff: SignOffSummary, by: Actor) -> None:
        self.signoffs = (*self.signoffs, signoff)

    def record_signoff_completed(self, signoff_id: UUID, by: Actor) -> None:
        require_open_signoff(self.signoffs, signoff_id)
        self._signoff_completed(signoff_id=signoff_id, by=by)

    @event(SignOffCompleted)
    def _signoff_completed(self, signoff_id: UUID, by: Actor) -> None:
        self.signoffs = with_signoff_status(self.signoffs, signoff_id, SignOffStatus.COMPLETE)

    def record_signoff_declined(self, signoff_id: UUID, by: Actor) -> None:
        require_open_signoff(self.signoffs, signoff_id)
        self._signoff_declined(signoff_id=signoff_id, by=by)

    @event(SignOffDeclined)
    def _signoff_declined(self, signoff_id: UUID, by: Actor) -> None:
        self.signoffs = with_signoff_status(self.signoffs, signoff_id, SignOffStatus.DECLINED)

    def record_signoff_superseded(self, signoff_id: UUID, by: Actor) -> None:
        require_open_signoff(self.signoffs, signoff_id)
        self._signoff_superseded(signoff_id=signoff_id, by=by)

    @event(SignOffSuperseded)
    def _signoff_superseded(self, signoff_id: UUID, by: Actor) -> None:
        self.signoffs = with_signoff_status(self.signoffs, signoff_id, SignOffStatus.SUPERSEDED)

    # --- escalation ----------------------------------------------------------------

    def escalate(self, item: str, due: date, by: Actor, to: str = "") -> None:
        """Recorded once per (item, due); the escalation job names items "vote:dave",
        "decision:carol" (kind and person), an open condition "condition:dave:<id>"."""
        require_new_escalation(self.escalations, item, due)
        self._require_not_terminal("escalated")
        check_condition_escalation(item, self.status in TERMINAL, self.conditions)
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

    def _require_pm(self, by: Actor, what: str) -> None:
        if by.acting_as != self.pm:
            raise NotAllowed(f"only the project's PM may {what}")

    def _require_not_terminal(self, what: str) -> None:
        if self.status in TERMINAL:
            raise RuleViolation(f"a {self.status.value} project cannot be {what}")

    def _open_review(self, gate: str) -> Review:
        self.gate_definition(gate)  # NotFound for a gate the template does not have
        if self.review is None or self.review.gate != gate:
            raise RuleViolation(f"no review of gate {gate} is open")
        return self.review

    def _refuse_requester(self, by: Actor, review: Review, what: str) -> None:
        if by.involves_any((*review.requested_by.people, self.pm)):
            raise NotAllowed(f"the requester of a review (or their delegate) cannot {what} it")

    def _voters(self, gate: str, board: Board) -> set[str]:
        return gate_voters(self.gate_definition(gate).policy, board, self.role_holders(board))

    def _vote_due(self, gate: str) -> date:
        return self.modified_on.date() + timedelta(days=self.gate_definition(gate).vote_due_days)

    def _record_vote(
        self, vote: Vote, rationale: str, evidence: tuple[Evidence, ...], by: Actor
    ) -> None:
        assert self.review is not None
        record = VoteRecord(by.acting_as, by.person, vote, rationale, evidence, self.modified_on)
        self.review = self.review.with_vote(record)
