"""Project state, roles and administrative lifecycle; ``Project`` adds the gate reviews.

No ``from __future__ import annotations`` here: eventsourcing inspects the @event
methods' annotations to define the event classes. Inside @event bodies
``self.modified_on`` is the timestamp of the event being applied (see ``Event``).
"""

from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.checks import require_person, require_text
from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.gate_review import Condition, Review, resolve_voters
from domain.policy import (
    Actor,
    Baseline,
    Board,
    GateDefinition,
    GovernanceTemplate,
    Role,
    Tolerances,
)

if TYPE_CHECKING:
    from domain.gate_review import DecisionRecord

PROJECT_ROLES = (Role.PM, Role.SPONSOR, Role.STAKEHOLDER)
SINGLE_HOLDER_ROLES = (Role.PM, Role.SPONSOR)


class ProjectStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TERMINAL = (ProjectStatus.CLOSED, ProjectStatus.CANCELLED)


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
        role = _project_role(role)
        if role in self.roles_of(person):
            raise RuleViolation(f"{person} already holds the {role.value} role")
        other = {Role.PM: self.sponsor, Role.SPONSOR: self.pm}.get(role)
        if person == other:
            raise RuleViolation("the PM and the sponsor must be different people")
        if role is Role.SPONSOR and by.involves_any((person,)):
            raise InvalidValue("sponsor: nobody makes themselves the sponsor (who decides)")
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
        role = _project_role(role)
        if role not in self.roles_of(person):
            raise RuleViolation(f"{person} does not hold the {role.value} role")
        if role in SINGLE_HOLDER_ROLES:
            raise RuleViolation(f"the {role.value} role is replaced by assigning a successor")
        self._role_revoked(person=person, role=role, by=by)

    @event("RoleRevoked")
    def _role_revoked(self, person: str, role: Role, by: Actor) -> None:
        self.stakeholders = tuple(p for p in self.stakeholders if p != person)

    # --- conditions --------------------------------------------------------------

    def close_condition(self, condition_id: UUID, note: str, by: Actor) -> None:
        condition = next((c for c in self.conditions if c.id == condition_id), None)
        if condition is None:
            raise NotFound(f"condition {condition_id} does not exist on this project")
        if by.acting_as not in (condition.owner, self.pm):
            raise NotAllowed("only the condition's owner or the PM may close it")
        if condition.closed:
            raise RuleViolation(f"condition {condition_id} is already closed")
        require_text(note, "closing note")
        self._condition_closed(condition_id=condition_id, note=note, by=by)

    @event("ConditionClosed")
    def _condition_closed(self, condition_id: UUID, note: str, by: Actor) -> None:
        self.conditions = tuple(
            Condition(c.id, c.gate, c.description, c.owner, c.due, True, by, note, self.modified_on)
            if c.id == condition_id
            else c
            for c in self.conditions
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
        mandatory = self.gate_definition(gate).policy.mandatory_voters
        return set(board.members) | resolve_voters(mandatory, self.role_holders(board))

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
        if self.status not in (ProjectStatus.PROPOSED, ProjectStatus.ACTIVE):
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
        if not isinstance(baseline, Baseline):
            raise InvalidValue("baseline must be a Baseline")
        if baseline.budget.currency != self.baseline.budget.currency:
            raise InvalidValue("a re-baseline keeps the budget currency")
        self._require_not_terminal("re-baselined")
        self._rebaselined(previous=self.baseline, baseline=baseline, reason=reason, by=by)

    @event("Rebaselined")
    def _rebaselined(self, previous: Baseline, baseline: Baseline, reason: str, by: Actor) -> None:
        self.baseline = baseline

    def _require_not_terminal(self, what: str) -> None:
        if self.status in TERMINAL:
            raise RuleViolation(f"a {self.status.value} project cannot be {what}")


def _project_role(role: Role | str) -> Role:
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidValue(f"unknown role {role!r}") from exc
    if role not in PROJECT_ROLES:
        raise InvalidValue(f"{role.value} is not a project role (pm, sponsor, stakeholder)")
    return role
