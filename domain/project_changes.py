"""What change requests, sign-offs and escalations record on a project.

No ``from __future__ import annotations`` here: eventsourcing inspects the @event
methods' annotations to define the event classes.
"""

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import event

from domain.checks import require_new_escalation, require_text
from domain.errors import RuleViolation
from domain.money import Money
from domain.policy import Actor, Baseline
from domain.project_base import ProjectBase
from domain.project_rules import changed_baseline
from domain.project_signoffs import (
    completed_deliverables,
    new_signoff,
    open_signoff_id,
    require_open_signoff,
    with_signoff_status,
)
from domain.signoff import SignOffStatus, SignOffSummary


class ProjectChanges(ProjectBase):
    """State: original_budget, approved_cost, approved_schedule_days, applied_changes,
    signoffs, escalations (set by ``_init_changes`` from ``Project.__init__``)."""

    # Snapshots taken before these attributes existed are upcast (see upcast_v1_v2).
    class_version = 2

    if TYPE_CHECKING:
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

    def _init_changes(self, baseline: Baseline) -> None:
        self.original_budget = baseline.budget
        self.approved_cost = Money.zero(baseline.budget.currency)
        self.approved_schedule_days = 0
        self.applied_changes = ()
        self.signoffs = ()
        self.escalations = ()

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

    @event("ChangeApplied")
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

    @property
    def budget_currency(self) -> str:
        return self.baseline.budget.currency

    # --- sign-offs -----------------------------------------------------------------

    def open_signoff_for(self, deliverable: str) -> UUID | None:
        """The open request a new version of ``deliverable`` supersedes, if any."""
        return open_signoff_id(self.signoffs, deliverable)

    def completed_deliverables(self, gate: str) -> frozenset[str]:
        """The gate's required deliverables whose LATEST sign-off request is complete and
        was signed by the required signer (a named person, or the holder of a project role
        such as "sponsor" or "pm" now)."""
        holders = self.role_holders()
        return completed_deliverables(self.gate_definition(gate), self.signoffs, holders)

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

    @event("SignOffRequested")
    def _signoff_requested(self, signoff: SignOffSummary, by: Actor) -> None:
        self.signoffs = (*self.signoffs, signoff)

    def record_signoff_completed(self, signoff_id: UUID, by: Actor) -> None:
        self._require_open_signoff(signoff_id)
        self._signoff_completed(signoff_id=signoff_id, by=by)

    @event("SignOffCompleted")
    def _signoff_completed(self, signoff_id: UUID, by: Actor) -> None:
        self._set_signoff_status(signoff_id, SignOffStatus.COMPLETE)

    def record_signoff_declined(self, signoff_id: UUID, by: Actor) -> None:
        self._require_open_signoff(signoff_id)
        self._signoff_declined(signoff_id=signoff_id, by=by)

    @event("SignOffDeclined")
    def _signoff_declined(self, signoff_id: UUID, by: Actor) -> None:
        self._set_signoff_status(signoff_id, SignOffStatus.DECLINED)

    def record_signoff_superseded(self, signoff_id: UUID, by: Actor) -> None:
        self._require_open_signoff(signoff_id)
        self._signoff_superseded(signoff_id=signoff_id, by=by)

    @event("SignOffSuperseded")
    def _signoff_superseded(self, signoff_id: UUID, by: Actor) -> None:
        self._set_signoff_status(signoff_id, SignOffStatus.SUPERSEDED)

    # --- escalation ----------------------------------------------------------------

    def escalate(self, item: str, due: date, by: Actor) -> None:
        """Recorded once per (item, due); the escalation job names items "vote:dave",
        "decision:carol" (kind and person)."""
        require_new_escalation(self.escalations, item, due)
        self._require_not_terminal("escalated")
        self._escalated(item=item, due=due, by=by)

    @event("Escalated")
    def _escalated(self, item: str, due: date, by: Actor) -> None:
        self.escalations = (*self.escalations, (item, due))

    # --- helpers -------------------------------------------------------------------

    def _require_open_signoff(self, signoff_id: UUID) -> None:
        require_open_signoff(self.signoffs, signoff_id)

    def _set_signoff_status(self, signoff_id: UUID, status: SignOffStatus) -> None:
        self.signoffs = with_signoff_status(self.signoffs, signoff_id, status)
