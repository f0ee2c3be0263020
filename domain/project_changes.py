"""What change requests, sign-offs and escalations record on a project.

No ``from __future__ import annotations`` here: eventsourcing inspects the @event
methods' annotations to define the event classes.
"""

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import event

from domain.bounds import require_amount
from domain.checks import require_days, require_new_escalation, require_text
from domain.errors import InvalidValue, NotFound, RuleViolation
from domain.gate_review import resolve_voters
from domain.money import Money
from domain.policy import Actor, Baseline
from domain.project_base import ProjectBase
from domain.signoff import SignOffStatus, SignOffSummary, signatory_tuple


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
        if not isinstance(cost_delta, Money) or cost_delta.currency != self.budget_currency:
            raise InvalidValue(f"the cost delta must be Money in {self.budget_currency}")
        days = require_days(schedule_delta_days, "the schedule delta")
        budget = self.baseline.budget.amount + cost_delta.amount
        if budget < 0:
            raise InvalidValue("the change would make the budget negative")
        require_amount(budget, "the budget after the change")
        baseline = Baseline(
            self.baseline.budget + cost_delta,
            self.baseline.start,
            self.baseline.end + timedelta(days=days),
            self.baseline.scope,
        )
        self._change_applied(
            change_request_id=change_request_id,
            cost_delta=cost_delta,
            schedule_delta_days=days,
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
        return next(
            (
                s.id
                for s in self.signoffs
                if s.deliverable == deliverable and s.status is SignOffStatus.OPEN
            ),
            None,
        )

    def completed_deliverables(self, gate: str) -> frozenset[str]:
        """The gate's required deliverables whose LATEST sign-off request is complete and
        was signed by the required signer (a named person, or the holder of a project role
        such as "sponsor" or "pm" now)."""
        holders = self.role_holders()
        done = set()
        for required in self.gate_definition(gate).required_signoffs:
            latest = self._latest_signoff(required.deliverable)
            if latest is None or latest.status is not SignOffStatus.COMPLETE:
                continue
            signer = required.signer or required.signer_role
            if signer is None or resolve_voters((signer,), holders) & set(latest.signatories):
                done.add(required.deliverable)
        return frozenset(done)

    def record_signoff_requested(
        self,
        signoff_id: UUID,
        deliverable: str,
        version: str,
        signatories: tuple[str, ...],
        by: Actor,
    ) -> None:
        require_text(deliverable, "deliverable")
        require_text(version, "version")
        signatories = signatory_tuple(signatories)
        if any(s.id == signoff_id for s in self.signoffs):
            raise RuleViolation(f"sign-off {signoff_id} is already recorded")
        if self.open_signoff_for(deliverable) is not None:
            raise RuleViolation(f"supersede the open sign-off of {deliverable!r} first")
        summary = SignOffSummary(signoff_id, deliverable, version, signatories)
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

    def _latest_signoff(self, deliverable: str) -> SignOffSummary | None:
        matching = [s for s in self.signoffs if s.deliverable == deliverable]
        return matching[-1] if matching else None

    def _require_open_signoff(self, signoff_id: UUID) -> None:
        found = next((s for s in self.signoffs if s.id == signoff_id), None)
        if found is None:
            raise NotFound(f"sign-off {signoff_id} is not recorded on this project")
        if found.status is not SignOffStatus.OPEN:
            raise RuleViolation(f"sign-off {signoff_id} is already {found.status.value}")

    def _set_signoff_status(self, signoff_id: UUID, status: SignOffStatus) -> None:
        self.signoffs = tuple(
            replace(s, status=status) if s.id == signoff_id else s for s in self.signoffs
        )
