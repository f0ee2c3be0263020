"""The template library (create and publish: pmo_admin; read: anyone signed in), a
portfolio's template for its new projects and a project's migration (pmo_admin)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter

from api.answers import TemplatePage, TemplateVersion, TemplateVersions, paged, typed
from api.commands import Command, answer
from api.controllers.portfolios import gate_definitions
from api.reads import Cursor, Limit, MinPosition, ensure_position, parse_cursor
from api.schemas import CommandAnswer, CreateTemplate, TemplateRules, UseTemplate
from domain.policy import (
    DEFAULT_CHANGE_POLICY,
    DecisionPolicy,
    GovernanceTemplate,
)
from eventstore.database import Store
from projections.templates import queries
from workflows import templates
from workflows.errors import UnknownAggregate
from workflows.templates import TemplateRef

# The path segment of a template: its name (as the library allows names, see schemas).
TemplateNameParam = Parameter(
    min_length=1,
    max_length=100,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
    description="the template's name in the library",
)


def template_rules(body: TemplateRules, name: str) -> GovernanceTemplate:
    """The template a body describes (the library numbers its versions: 1 here is a
    placeholder the library replaces)."""
    gates = gate_definitions(body.gates)
    change = body.change_policy
    change_policy = (
        DEFAULT_CHANGE_POLICY
        if change is None
        else DecisionPolicy(
            change.quorum, tuple(change.mandatory_voters), change.chair_must_confirm
        )
    )
    return GovernanceTemplate(
        name,
        1,
        gates,
        change_policy=change_policy,
        cr_decision_days=body.cr_decision_days,
        signoff_due_days=body.signoff_due_days,
    )


def ref_of(data: UseTemplate) -> TemplateRef:
    return TemplateRef(data.name, data.version)


class TemplateController(Controller):
    path = "/templates"
    tags = ["templates"]

    @post("/", operation_id="createTemplate", summary="Create a template, version 1 (pmo_admin)")
    async def create(
        self, data: CreateTemplate, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        """A new named template in the library (409 if the name is taken), with the reason."""
        result = await templates.create_template(
            store,
            name=data.name,
            template=template_rules(data, data.name),
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result, 201)

    @post(
        "/{name:str}/versions",
        operation_id="publishTemplateVersion",
        summary="Publish the next version (pmo_admin)",
    )
    async def publish(
        self,
        data: TemplateRules,
        command: Command,
        store: Store,
        name: str = TemplateNameParam,
    ) -> Response[CommandAnswer]:
        """Version n + 1 of the template, with the reason; earlier versions never change
        and the projects and portfolios that follow them keep them."""
        result = await templates.publish_version(
            store,
            name=name,
            template=template_rules(data, name),
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result, 201)

    @get("/", operation_id="listTemplates", summary="The template library")
    async def list(
        self,
        request: Request,
        store: Store,
        after: str = Cursor,
        limit: int = Limit,
        min_position: int = MinPosition,
    ) -> TemplatePage:
        """Each template with its latest version and who published it, when and why, in
        the order created."""
        await ensure_position(store, request.app.state.settings, min_position)
        items = await queries.templates(
            store.pool, store.names, after=parse_cursor(after), limit=limit + 1
        )
        more = len(items) > limit
        cursor = items[limit - 1]["created_position"] if more else None
        return paged(TemplatePage, items[:limit], cursor)

    @get("/{name:str}", operation_id="getTemplate", summary="A template and all its versions")
    async def versions(
        self,
        request: Request,
        store: Store,
        name: str = TemplateNameParam,
        min_position: int = MinPosition,
    ) -> TemplateVersions:
        await ensure_position(store, request.app.state.settings, min_position)
        found = await queries.versions_of(store.pool, store.names, name)
        if not found:
            raise UnknownAggregate(f"template {name!r} not found")
        return typed(
            {"name": name, "latest_version": found[-1]["version"], "versions": found},
            TemplateVersions,
        )

    @get(
        "/{name:str}/versions/{version:int}",
        operation_id="getTemplateVersion",
        summary="One version of a template",
    )
    async def version(
        self,
        request: Request,
        store: Store,
        version: int = Parameter(ge=1, le=2**31 - 1),
        name: str = TemplateNameParam,
        min_position: int = MinPosition,
    ) -> TemplateVersion:
        await ensure_position(store, request.app.state.settings, min_position)
        found = await queries.version_of(store.pool, store.names, name, version)
        if found is None:
            raise UnknownAggregate(f"template {name!r} has no version {version}")
        return typed(found, TemplateVersion)


class PortfolioTemplate(Controller):
    path = "/portfolios/{portfolio_id:uuid}"
    tags = ["portfolios"]

    @post(
        "/template",
        operation_id="changePortfolioTemplate",
        summary="The template new projects follow (pmo_admin)",
        status_code=200,
    )
    async def template(
        self, portfolio_id: UUID, data: UseTemplate, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        """A version of the library for the portfolio's NEW projects (its projects keep
        theirs), with the reason; 422 when its board cannot reach a quorum of it."""
        result = await templates.change_portfolio_template(
            store,
            portfolio_id=portfolio_id,
            ref=ref_of(data),
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)


class ProjectTemplate(Controller):
    path = "/projects/{project_id:uuid}"
    tags = ["projects"]

    @post(
        "/template",
        operation_id="migrateProjectTemplate",
        summary="Migrate to another template version (pmo_admin)",
        status_code=200,
    )
    async def migrate(
        self, project_id: UUID, data: UseTemplate, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        """The project follows the library's version from its next gate on, with the
        reason; 409 when its passed gates or stage do not map onto it or a review is
        open, 422 when the portfolio's board cannot reach a quorum of it."""
        result = await templates.migrate_project(
            store,
            project_id=project_id,
            ref=ref_of(data),
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)
