"""Use cases on portfolios and projects: creation and administration."""

from __future__ import annotations

from uuid import UUID, uuid4

from domain.money import Money
from domain.policy import Actor, Baseline, Board, GovernanceTemplate, Tolerances
from domain.portfolio import Portfolio
from domain.project import Project
from eventstore.database import Store
from workflows.templates import TemplateRef, find_template
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, act_on, run_command


async def create_portfolio(
    store: Store,
    *,
    name: str,
    objectives: tuple[str, ...],
    envelope: Money,
    board: Board,
    template: GovernanceTemplate | TemplateRef,
    by: Actor,
    options: CommandOptions,
    portfolio_id: UUID | None = None,
) -> CommandResult:
    """Create a portfolio with its board and governance template (given inline, or a
    version of the library by reference: the portfolio keeps a copy of it)."""
    new_id = portfolio_id or uuid4()

    async def use_case(uow: UnitOfWork) -> Portfolio:
        chosen = (
            await find_template(uow, template) if isinstance(template, TemplateRef) else template
        )
        portfolio = Portfolio.create(new_id, name, objectives, envelope, board, chosen, by)
        uow.add(portfolio)
        return portfolio

    return await run_command(store, use_case, options)


async def create_project(
    store: Store,
    *,
    portfolio_id: UUID,
    name: str,
    pm: str,
    sponsor: str,
    baseline: Baseline,
    tolerances: Tolerances,
    by: Actor,
    options: CommandOptions,
    project_id: UUID | None = None,
) -> CommandResult:
    """Create a project in a portfolio; it follows the portfolio's current template."""
    new_id = project_id or uuid4()

    async def use_case(uow: UnitOfWork) -> Project:
        portfolio = await uow.get(Portfolio, portfolio_id)
        project = Project.create(
            new_id,
            portfolio.id,
            name,
            pm,
            sponsor,
            baseline,
            tolerances,
            portfolio.template,
            by,
            portfolio_currency=portfolio.currency,
        )
        uow.add(project)
        return project

    return await run_command(store, use_case, options)


async def cancel_project(
    store: Store, *, project_id: UUID, reason: str, by: Actor, options: CommandOptions
) -> CommandResult:
    """Cancel a project by administrative decision (pmo_admin), with a reason."""
    return await act_on(store, Project, project_id, lambda p: p.cancel(reason, by), options)
