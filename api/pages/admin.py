"""The PMO's administration page (issue 13): portfolios with their boards and templates,
the template library, projects with their roles; forms to change a board, assign or
revoke a role, hold and resume a project, each with its reason.

The forms post to page routes that call the same workflows with the same request schemas
as the API's administration routes (``api.controllers.administration``); a refusal is
the page again with the API's problem next to the form. A portfolio or project is picked
with a GET form (``?portfolio_id=``, ``?project_id=``), so everything works without
JavaScript.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from api.auth import Principal
from api.errors import ProblemError
from api.pages.portfolios import project_cards
from api.pages.render import form_problem, render
from api.pages.requests import _after
from api.pages.reviews import REFUSALS, Done, _command, _text
from api.reads import MinPosition, ensure_position, projects_of_portfolio
from api.schemas import ChangeBoard, ChangeProjectRole, Reason
from domain.policy import Board, Role
from eventstore.database import Store
from projections.engine.read_model import table
from projections.portfolios.model import PORTFOLIOS
from projections.projects import queries as project_list
from projections.templates import queries as template_library
from workflows import administration
from workflows.errors import UnknownAggregate

SHOWN = 200  # portfolios, projects and templates listed
Picked = Parameter(default="", max_length=36, description="the one to administer")


def _picked(value: str) -> UUID | None:
    try:
        return UUID(value) if value.strip() else None
    except ValueError:
        raise ProblemError(
            422, "pick a portfolio or project from the list", slug="validation"
        ) from None


async def admin_page(
    request: Request,
    store: Store,
    *,
    portfolio_id: UUID | None = None,
    project_id: UUID | None = None,
    status: int = 200,
    refusal: dict[str, Any] | None = None,
    refused_form: str = "",
    sent: dict[str, Any] | None = None,
    done: str = "",
) -> Template:
    portfolios = await boards(store)
    projects, _ = await project_cards(store, limit=SHOWN)
    templates = await template_library.templates(store.pool, store.names, after=0, limit=SHOWN)
    portfolio = next((p for p in portfolios if p["id"] == str(portfolio_id)), None)
    if portfolio_id is not None and portfolio is None:
        raise UnknownAggregate(f"portfolio {portfolio_id} not found")
    project = (
        await project_list.project_detail(store.pool, store.names, project_id)
        if project_id is not None
        else None
    )
    return render(
        request,
        "admin.html",
        title="Administration",
        status=status,
        portfolios=portfolios,
        more_portfolios=len(portfolios) >= SHOWN,
        projects=projects,
        templates=templates,
        portfolio=portfolio,
        project=project,
        refusal=refusal,
        refused_form=refused_form,
        sent=sent or {},
        done=done,
    )


async def boards(store: Store) -> list[dict[str, Any]]:
    """Every portfolio (by name, as ``list_portfolios``) with its board, template and
    envelope, from the portfolio read model's documents (keys as ``portfolio_view``)."""
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT portfolio_id, doc FROM {table(store.names, PORTFOLIOS)} "
            "ORDER BY name, portfolio_id LIMIT $1",
            SHOWN,
        )
    return [
        {
            "id": str(r[0]),
            "name": r[1]["name"],
            "board": {"members": r[1]["members"], "chair": r[1]["chair"]},
            "template": r[1].get("template"),
            "budget": {"envelope": {"amount": r[1]["envelope"], "currency": r[1]["currency"]}},
        }
        for r in rows
    ]


def _members(text: str) -> list[str]:
    """Board members as typed: separated by commas, spaces or lines."""
    return [m for m in text.replace(",", " ").split() if m]


class AdministrationPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/", operation_id="pageAdministration")
    async def show(
        self,
        request: Request,
        store: Store,
        portfolio_id: str = Picked,
        project_id: str = Picked,
        done: str = Done,
        min_position: int = MinPosition,
    ) -> Template:
        await ensure_position(store, request.app.state.settings, min_position)
        return await admin_page(
            request,
            store,
            portfolio_id=_picked(portfolio_id),
            project_id=_picked(project_id),
            done=done,
        )

    async def _refused(
        self,
        request: Request,
        store: Store,
        exc: Exception,
        which: str,
        sent: dict[str, Any],
        portfolio_id: UUID | None = None,
        project_id: UUID | None = None,
    ) -> Template:
        problem = form_problem(request, exc)
        return await admin_page(
            request,
            store,
            portfolio_id=portfolio_id,
            project_id=project_id,
            status=int(problem["status"]),
            refusal=problem,
            refused_form=which,
            sent=sent,
        )

    @post("/portfolios/{portfolio_id:uuid}/board", operation_id="pageChangeBoard", status_code=303)
    async def board(
        self, request: Request, portfolio_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``changeBoard``: the same schema (``ChangeBoard``), the same workflow."""
        form = await request.form()
        sent: dict[str, Any] = {
            "members": _text(form, "members"),
            "chair": _text(form, "chair").strip(),
            "reason": _text(form, "reason"),
        }
        body = {
            "board": {"members": _members(sent["members"]), "chair": sent["chair"]},
            "reason": sent["reason"],
        }
        try:
            data = msgspec.convert(body, ChangeBoard)
            command = _command(request, principal)
            settings = request.app.state.settings
            projects = await projects_of_portfolio(
                store, portfolio_id, settings.min_position_wait_s
            )
            result = await administration.change_board(
                store,
                portfolio_id=portfolio_id,
                project_ids=projects,
                board=Board(tuple(data.board.members), data.board.chair),
                reason=data.reason,
                by=command.by(),
                options=command.options,
            )
        except REFUSALS as exc:
            return await self._refused(
                request, store, exc, "board", sent, portfolio_id=portfolio_id
            )
        return _after(f"/admin?portfolio_id={portfolio_id}&done=board", result.position)

    @post(
        "/projects/{project_id:uuid}/roles", operation_id="pageChangeProjectRole", status_code=303
    )
    async def role(
        self, request: Request, project_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``changeProjectRole``: the same schema, the same workflow."""
        form = await request.form()
        sent = {
            "action": _text(form, "action") or None,
            "role": _text(form, "role") or None,
            "person": _text(form, "person").strip(),
            "reason": _text(form, "reason"),
        }
        try:
            data = msgspec.convert(sent, ChangeProjectRole)
            command = _command(request, principal)
            result = await administration.change_project_role(
                store,
                project_id=project_id,
                action=data.action,
                role=Role(data.role),
                person=data.person,
                reason=data.reason,
                by=command.by(),
                options=command.options,
            )
        except REFUSALS as exc:
            return await self._refused(request, store, exc, "role", sent, project_id=project_id)
        return _after(f"/admin?project_id={project_id}&done=role", result.position)

    async def _hold_or_resume(
        self, request: Request, project_id: UUID, principal: Principal, store: Store, how: str
    ) -> Redirect | Template:
        form = await request.form()
        sent = {"reason": _text(form, "reason")}
        try:
            data = msgspec.convert(sent, Reason)
            command = _command(request, principal)
            act = administration.hold_project if how == "hold" else administration.resume_project
            result = await act(
                store,
                project_id=project_id,
                reason=data.reason,
                by=command.by(),
                options=command.options,
            )
        except REFUSALS as exc:
            return await self._refused(request, store, exc, how, sent, project_id=project_id)
        return _after(f"/admin?project_id={project_id}&done={how}", result.position)

    @post("/projects/{project_id:uuid}/hold", operation_id="pageHoldProject", status_code=303)
    async def hold(
        self, request: Request, project_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``holdProject``: the same schema (``Reason``), the same workflow."""
        return await self._hold_or_resume(request, project_id, principal, store, "hold")

    @post("/projects/{project_id:uuid}/resume", operation_id="pageResumeProject", status_code=303)
    async def resume(
        self, request: Request, project_id: UUID, principal: Principal, store: Store
    ) -> Redirect | Template:
        """As ``resumeProject``: the same schema, the same workflow."""
        return await self._hold_or_resume(request, project_id, principal, store, "resume")
