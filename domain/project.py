"""Project aggregate: lifecycle, roles and stage-gate reviews.

No ``from __future__ import annotations`` here: eventsourcing inspects the @event
methods' annotations to define the event classes. Inside @event bodies
``self.modified_on`` is the timestamp of the event being applied (see ``Event``).
"""

from datetime import timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.checks import as_tuple, require_text
from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.gate_review import (
    Condition,
    ConditionSpec,
    Decision,
    DecisionRecord,
    Evidence,
    Review,
    Vote,
    VoteRecord,
    approval_shortfall,
    check_conditions,
    check_no_open_conditions,
    check_seen_position,
    evidence_tuple,
    resolve_voters,
)
from domain.policy import Actor, Baseline, Board, GateDefinition, GovernanceTemplate, Role
from domain.project_roles import ProjectRoles


class ProjectStatus(str, Enum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CLOSED = "closed"
    CANCELLED = "cancelled"


REVIEWABLE = (ProjectStatus.PROPOSED, ProjectStatus.ACTIVE, ProjectStatus.ON_HOLD)
TERMINAL = (ProjectStatus.CLOSED, ProjectStatus.CANCELLED)
CLOSED_STAGE = "Closed"


class Project(ProjectRoles):
    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            # Expose this event's timestamp to the @event body (replay safe).
            if aggregate is not None:
                aggregate.modified_on = self.timestamp
            return super().mutate(aggregate)

    @classmethod
    def create(
        cls,
        id: UUID,
        portfolio_id: UUID,
        name: str,
        pm: str,
        sponsor: str,
        baseline: Baseline,
        tolerances: "Tolerances",
        template: GovernanceTemplate,
        by: Actor,
    ) -> "Project":
        require_text(name, "project name")
        require_text(pm, "project manager")
        require_text(sponsor, "sponsor")
        if pm == sponsor:
            raise InvalidValue("the PM and the sponsor must be different people")
        if not isinstance(baseline, Baseline) or not isinstance(tolerances, Tolerances):
            raise InvalidValue("a project needs a Baseline and Tolerances")
        if not isinstance(template, GovernanceTemplate):
            raise InvalidValue("a project needs a GovernanceTemplate")
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
