"""Project state, roles and administrative lifecycle; ``Project`` adds the gate reviews.

No ``from __future__ import annotations`` here: eventsourcing inspects the @event
methods' annotations to define the event classes. Inside @event bodies
``self.modified_on`` is the timestamp of the event being applied (see ``Event``).
"""

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.checks import require_person, require_text
from domain.errors import NotAllowed, RuleViolation
from domain.gate_review import Condition, Review
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
    HOLDABLE,
    TERMINAL,
    ProjectStatus,
    check_condition_closing,
    check_rebaseline,
    check_role_assignment,
    check_role_revocation,
    gate_voters,
    project_role,
    with_condition_closed,
)

if TYPE_CHECKING:
    from domain.gate_review import DecisionRecord


class ProjectBase(Aggregate):
    """State set by ``Project.__init__``: name, portfolio_id, pm, sponsor, stakeholders,
    baseline, tolerances, template, status, stage, gates_passed, review, decisions,
    conditions, created_by."""

    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            # Expose this event's timestamp to the @event body (replay safe).
            if aggregate is not None:
                aggregate.modified_on = self.timestamp
            return super().mutate(aggregate)

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

    # --- queries ---------------------------------------------------------------

    @property
    def next_gate(self) -> str | None:
        gates = self.template.gates
        return gates[self.gates_passed].name if self.gates_passed < len(gates) else None

    @property
    def open_conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.is_open)

    def configurers(self, portfolio_configurers: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Who configured the governance this project is decided under: the portfolio's
        configurers plus whoever created the project (naming its PM and sponsor)."""
        return (*portfolio_configurers, *self.created_by.people)

    def gate_definition(self, gate: str) -> GateDefinition:
        return self.template.gate(gate)

    def roles_of(self, person: str) -> frozenset[Role]:
        roles = set()
        if person == self.pm:
            roles.add(Role.PM)
        if person == self.sponsor:
            roles.add(Role.SPONSOR)
        if person in self.stakeholders:
            roles.add(Role.STAKEHOLDER)
        return frozenset(roles)

    def role_holders(self, board: Board | None = None) -> dict[str, tuple[str, ...]]:
        """Role name -> people, used to resolve a policy's mandatory voters."""
        holders = {
            Role.PM.value: (self.pm,),
            Role.SPONSOR.value: (self.sponsor,),
            Role.STAKEHOLDER.value: self.stakeholders,
        }
        if board is not None:
            holders[Role.CHAIR.value] = (board.chair,)
            holders[Role.GATEKEEPER.value] = board.members
        return holders

    # --- roles -----------------------------------------------------------------

    def assign_role(self, person: str, role: Role, by: Actor) -> None:
        """PM and sponsor have one holder each (the new one replaces the old one)."""
        require_person(person, "person")
        role = project_role(role)
        check_role_assignment(person, role, self.roles_of(person), self.pm, self.sponsor, by)
        self._role_assigned(person=person, role=role, by=by)

    @event("RoleAssigned")
    def _role_assigned(self, person: str, role: Role, by: Actor) -> None:
        if role is Role.PM:
            self.pm = person
        elif role is Role.SPONSOR:
            self.sponsor = person
        else:
            self.stakeholders = (*self.stakeholders, person)

    def revoke_role(self, person: str, role: Role, by: Actor) -> None:
        role = project_role(role)
        check_role_revocation(person, role, self.roles_of(person))
        self._role_revoked(person=person, role=role, by=by)

    @event("RoleRevoked")
    def _role_revoked(self, person: str, role: Role, by: Actor) -> None:
        self.stakeholders = tuple(p for p in self.stakeholders if p != person)

    # --- conditions --------------------------------------------------------------

    def close_condition(self, condition_id: UUID, note: str, by: Actor) -> None:
        check_condition_closing(self.conditions, condition_id, self.pm, note, by)
        self._condition_closed(condition_id=condition_id, note=note, by=by)

    @event("ConditionClosed")
    def _condition_closed(self, condition_id: UUID, note: str, by: Actor) -> None:
        self.conditions = with_condition_closed(
            self.conditions, condition_id, note, by, self.modified_on
        )

    def _require_pm(self, by: Actor, what: str) -> None:
        if by.acting_as != self.pm:
            raise NotAllowed(f"only the project's PM may {what}")

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

    # --- administrative lifecycle ------------------------------------------------

    def cancel(self, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        self._require_not_terminal("cancelled")
        self._cancelled(reason=reason, by=by)

    @event("Cancelled")
    def _cancelled(self, reason: str, by: Actor) -> None:
        self.status = ProjectStatus.CANCELLED
        self.review = None

    def put_on_hold(self, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        if self.status not in HOLDABLE:
            raise RuleViolation(f"a {self.status.value} project cannot be put on hold")
        self._put_on_hold(reason=reason, by=by)

    @event("PutOnHold")
    def _put_on_hold(self, reason: str, by: Actor) -> None:
        self.status = ProjectStatus.ON_HOLD

    def resume(self, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        if self.status is not ProjectStatus.ON_HOLD:
            raise RuleViolation(f"only a project on hold can resume, this one is {self.status}")
        self._resumed(reason=reason, by=by)

    @event("Resumed")
    def _resumed(self, reason: str, by: Actor) -> None:
        self.status = ProjectStatus.ACTIVE if self.gates_passed else ProjectStatus.PROPOSED

    def rebaseline(self, baseline: Baseline, reason: str, by: Actor) -> None:
        require_text(reason, "reason")
        check_rebaseline(self.baseline, baseline)
        self._require_not_terminal("re-baselined")
        self._rebaselined(previous=self.baseline, baseline=baseline, reason=reason, by=by)

    @event("Rebaselined")
    def _rebaselined(self, previous: Baseline, baseline: Baseline, reason: str, by: Actor) -> None:
        self.baseline = baseline

    def _require_not_terminal(self, what: str) -> None:
        if self.status in TERMINAL:
            raise RuleViolation(f"a {self.status.value} project cannot be {what}")
