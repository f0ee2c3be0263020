"""Use cases of a change request: draft, submit, amend, assess, vote, decide, withdraw,
implement.

Routing by tolerance is computed here from the project's state (original budget,
tolerances, cumulative approved deltas) with the domain's ``route_for``. Approving a CR
re-baselines the project in the SAME unit of work: the decision and the project's
``ChangeApplied`` event are saved in one transaction, or neither is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

from domain.change_request import ChangeRequest, CRDecision, CRStatus, Route, route_for
from domain.change_rules import AMENDABLE
from domain.errors import NotAllowed, RuleViolation
from domain.gate_review import Vote
from domain.money import Money, require_money_in
from domain.policy import Actor, DecisionPolicy
from domain.portfolio import Portfolio
from domain.project import Project
from eventstore.database import Store
from workflows.authority import authorise, require_in_person, today
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, run_command


@dataclass(frozen=True)
class _Context:
    """A CR with the project and portfolio it is decided against."""

    cr: ChangeRequest
    project: Project
    portfolio: Portfolio

    @property
    def policy(self) -> DecisionPolicy:
        """How the project's template decides change requests."""
        return self.project.template.change_policy


async def _cr(uow: UnitOfWork, change_request_id: UUID) -> ChangeRequest:
    cr = await uow.get(ChangeRequest, change_request_id, what="change request")
    uow.expect(cr)
    return cr


async def _acting_on(
    uow: UnitOfWork, change_request_id: UUID, by: Actor, now: datetime
) -> _Context:
    """The CR and what it is decided against, once ``by`` may act on it at ``now`` (in
    person, or as a delegate whose delegation covers the CR's project)."""
    cr = await _cr(uow, change_request_id)
    await uow.prefetch(cr.project_id, cr.portfolio_id)
    project = await uow.get(Project, cr.project_id)
    portfolio = await uow.get(Portfolio, cr.portfolio_id)
    await authorise(uow, by, now, portfolio_id=cr.portfolio_id, project_id=cr.project_id)
    return _Context(cr, project, portfolio)


def _route(project: Project, cost_delta: Money, schedule_delta_days: int) -> Route:
    return route_for(
        project.original_budget,
        project.tolerances,
        project.approved_cost,
        project.approved_schedule_days,
        cost_delta,
        schedule_delta_days,
    )


def _require_route_still_holds(cr: ChangeRequest, project: Project) -> None:
    """A CR routed to the sponsor is not approved alone once changes approved since its
    submission have used up the tolerance: the submitter amends it to re-route it."""
    now_routed = _route(project, cr.cost_delta, cr.schedule_delta_days)
    if cr.route is Route.SPONSOR and now_routed is Route.BOARD:
        raise RuleViolation(
            "changes approved since this CR was submitted take it beyond tolerance: "
            "amend it so that it is routed to the board"
        )


def _due(project: Project, now: datetime) -> date:
    return today(now) + timedelta(days=project.template.cr_decision_days)


async def draft_change_request(
    store: Store,
    *,
    project_id: UUID,
    title: str,
    description: str,
    cost_delta: Money,
    schedule_delta_days: int,
    scope: str,
    risk: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """The PM drafts a change request on their project."""
    new_id = uuid4()

    async def use_case(uow: UnitOfWork) -> ChangeRequest:
        require_in_person(by, "raising a change request")
        project = await uow.get(Project, project_id)
        cr = ChangeRequest.create(
            new_id,
            project.id,
            project.portfolio_id,
            title,
            description,
            cost_delta,
            schedule_delta_days,
            scope,
            risk,
            by,
            project.pm,
            currency=project.budget_currency,
        )
        uow.add(cr)
        return cr

    return await run_command(store, use_case, options)


async def submit_change_request(
    store: Store, *, change_request_id: UUID, by: Actor, now: datetime, options: CommandOptions
) -> CommandResult:
    """The submitter submits a draft: it is routed (sponsor within the cumulative
    tolerance, board beyond it) and given a decision due date."""
    today(now)  # a naive clock is refused before anything is loaded

    async def use_case(uow: UnitOfWork) -> tuple[ChangeRequest, dict[str, object]]:
        require_in_person(by, "submitting a change request")
        cr = await _cr(uow, change_request_id)
        project = await uow.get(Project, cr.project_id)
        route = _route(project, cr.cost_delta, cr.schedule_delta_days)
        cr.submit(route, _due(project, now), by)
        return cr, {"route": route.value}

    return await run_command(store, use_case, options)


async def amend_change_request(
    store: Store,
    *,
    change_request_id: UUID,
    title: str,
    description: str,
    cost_delta: Money,
    schedule_delta_days: int,
    scope: str,
    risk: str,
    by: Actor,
    now: datetime,
    options: CommandOptions,
) -> CommandResult:
    """The submitter amends a CR before its final decision; a submitted, assessed or
    deferred CR is routed again, gets a new due date and loses its votes and assessment."""
    today(now)  # a naive clock is refused before anything is loaded

    async def use_case(uow: UnitOfWork) -> ChangeRequest:
        require_in_person(by, "amending a change request")
        cr = await _cr(uow, change_request_id)
        text = (title, description, cost_delta, schedule_delta_days, scope, risk)
        project = await uow.get(Project, cr.project_id)
        currency = project.budget_currency
        if cr.status is CRStatus.DRAFT or cr.status not in AMENDABLE:
            cr.amend(*text, by, currency=currency)  # a draft, or a decided CR refused
            return cr
        require_money_in(cost_delta, "cost_delta", currency)  # before routing sums it
        route = _route(project, cost_delta, schedule_delta_days)
        cr.amend(*text, by, route=route, due=_due(project, now), currency=currency)
        return cr

    return await run_command(store, use_case, options)


async def assess_change_request(
    store: Store,
    *,
    change_request_id: UUID,
    assessment: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """Someone other than the submitter records the impact assessment."""

    async def use_case(uow: UnitOfWork) -> ChangeRequest:
        require_in_person(by, "assessing a change request")
        cr = await _cr(uow, change_request_id)
        cr.assess(assessment, by)
        return cr

    return await run_command(store, use_case, options)


async def vote_change_request(
    store: Store,
    *,
    change_request_id: UUID,
    vote: Vote,
    rationale: str,
    by: Actor,
    now: datetime,
    options: CommandOptions,
) -> CommandResult:
    """A gatekeeper or mandatory voter (or their delegate at ``now``) votes on a CR
    escalated to the board, or changes their vote."""

    async def use_case(uow: UnitOfWork) -> ChangeRequest:
        ctx = await _acting_on(uow, change_request_id, by, now)
        board, sponsor = ctx.portfolio.board, ctx.project.sponsor
        barred = ctx.project.configurers(ctx.portfolio.configured_by)
        ctx.cr.cast_vote(vote, rationale, by, board, sponsor, ctx.policy, barred)
        return ctx.cr

    return await run_command(store, use_case, options)


async def decide_change_request(
    store: Store,
    *,
    change_request_id: UUID,
    decision: CRDecision,
    rationale: str,
    by: Actor,
    now: datetime,
    options: CommandOptions,
) -> CommandResult:
    """The sponsor (within tolerance) or the chair (beyond it) decides; an approval
    re-baselines the project (budget, end date) in the same transaction."""

    async def use_case(uow: UnitOfWork) -> tuple[ChangeRequest, dict[str, object]]:
        ctx = await _acting_on(uow, change_request_id, by, now)
        cr, project = ctx.cr, ctx.project
        if decision == CRDecision.APPROVE:
            _require_route_still_holds(cr, project)
        barred = project.configurers(ctx.portfolio.configured_by)
        cr.decide(decision, rationale, by, ctx.portfolio.board, project.sponsor, ctx.policy, barred)
        if cr.status is not CRStatus.APPROVED:
            return cr, {}
        reason = f"change request {cr.title!r} approved: {rationale}"
        project.apply_change(cr.id, cr.cost_delta, cr.schedule_delta_days, reason, by)
        return cr, {"project_version": project.version}

    return await run_command(store, use_case, options)


async def withdraw_change_request(
    store: Store, *, change_request_id: UUID, reason: str, by: Actor, options: CommandOptions
) -> CommandResult:
    """The submitter withdraws their CR before it is decided."""

    async def use_case(uow: UnitOfWork) -> ChangeRequest:
        require_in_person(by, "withdrawing a change request")
        cr = await _cr(uow, change_request_id)
        cr.withdraw(reason, by)
        return cr

    return await run_command(store, use_case, options)


async def implement_change_request(
    store: Store, *, change_request_id: UUID, by: Actor, options: CommandOptions
) -> CommandResult:
    """The project's PM marks an approved CR implemented."""

    async def use_case(uow: UnitOfWork) -> ChangeRequest:
        require_in_person(by, "implementing a change request")
        cr = await _cr(uow, change_request_id)
        project = await uow.get(Project, cr.project_id)
        if by.acting_as != project.pm:
            raise NotAllowed("only the project's PM marks a change request implemented")
        cr.mark_implemented(by)
        return cr

    return await run_command(store, use_case, options)
