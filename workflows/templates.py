"""Use cases of the template library: create a template, publish a version, and use a
version by reference (a portfolio's template for new projects, a project's migration).
Each is one recorded event with its actor and reason; the domain checks the rules."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.errors import RuleViolation
from domain.policy import Actor, GovernanceTemplate
from domain.portfolio import Portfolio
from domain.project import Project
from domain.template_series import TemplateSeries, template_series_id
from eventstore.database import Store
from workflows.errors import UnknownAggregate
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, run_command


@dataclass(frozen=True)
class TemplateRef:
    """A version of a template in the library; ``version`` None: its latest."""

    name: str
    version: int | None = None


async def _series(uow: UnitOfWork, name: str) -> TemplateSeries:
    """The template named ``name``; UnknownAggregate naming it (its id says nothing)."""
    try:
        return await uow.get(TemplateSeries, template_series_id(name), what="template")
    except UnknownAggregate:
        raise UnknownAggregate(f"the library has no template named {name!r}") from None


async def find_template(uow: UnitOfWork, ref: TemplateRef) -> GovernanceTemplate:
    """The version ``ref`` names; UnknownAggregate (404) for a name or version the
    library does not hold."""
    series = await _series(uow, ref.name)
    if ref.version is None:
        return series.latest
    if not 1 <= ref.version <= len(series.versions):
        raise UnknownAggregate(
            f"template {ref.name!r} has no version {ref.version} "
            f"(its versions: 1 to {len(series.versions)})"
        )
    return series.version_of(ref.version)


async def create_template(
    store: Store,
    *,
    name: str,
    template: GovernanceTemplate,
    reason: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """Version 1 of a new template named ``name`` (409 if the name is taken)."""

    async def use_case(uow: UnitOfWork) -> TemplateSeries:
        series = TemplateSeries.create(name, template, reason, by)
        try:
            earlier = await uow.get(TemplateSeries, series.id)
        except UnknownAggregate:
            uow.add(series)
            return series
        raise RuleViolation(
            f"a template named {name!r} exists (latest v{earlier.latest.version}): "
            "publish a new version of it instead"
        )

    return await run_command(store, use_case, options)


async def publish_version(
    store: Store,
    *,
    name: str,
    template: GovernanceTemplate,
    reason: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """Version n + 1 of the template named ``name``."""

    async def use_case(uow: UnitOfWork) -> TemplateSeries:
        series = await _series(uow, name)
        uow.expect(series)
        series.publish(template, reason, by)
        return series

    return await run_command(store, use_case, options)


async def change_portfolio_template(
    store: Store,
    *,
    portfolio_id: UUID,
    ref: TemplateRef,
    reason: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """The library's version ``ref`` for the portfolio's NEW projects."""

    async def use_case(uow: UnitOfWork) -> Portfolio:
        portfolio = await uow.get(Portfolio, portfolio_id)
        uow.expect(portfolio)
        portfolio.change_template(await find_template(uow, ref), reason, by)
        return portfolio

    return await run_command(store, use_case, options)


async def migrate_project(
    store: Store,
    *,
    project_id: UUID,
    ref: TemplateRef,
    reason: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """Move a project to the library's version ``ref``, checked against its portfolio's
    board (every quorum reachable)."""

    async def use_case(uow: UnitOfWork) -> Project:
        project = await uow.get(Project, project_id)
        uow.expect(project)
        portfolio = await uow.get(Portfolio, project.portfolio_id)
        template = await find_template(uow, ref)
        project.migrate_template(template, reason, by, portfolio.board)
        return project

    return await run_command(store, use_case, options)
