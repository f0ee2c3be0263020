"""The PMO's administration of governance (pmo_admin): boards, envelopes, project roles,
hold and resume, re-baselines outside a change request. Each route is one command."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, post

from api.commands import Command, answer
from api.reads import projects_of_portfolio
from api.schemas import (
    ChangeBoard,
    ChangeEnvelope,
    ChangeProjectRole,
    CommandAnswer,
    Reason,
    RebaselineProject,
)
from domain.policy import Baseline, Board, Role
from eventstore.database import Store
from workflows import administration


class PortfolioAdministration(Controller):
    path = "/portfolios/{portfolio_id:uuid}"
    tags = ["portfolios"]

    @post(
        "/board",
        operation_id="changeBoard",
        summary="Change the board (pmo_admin)",
        status_code=200,
    )
    async def board(
        self,
        request: Request,
        portfolio_id: UUID,
        data: ChangeBoard,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        """New members and chair; refused (422) if a quorum of the portfolio's template, or
        of a live project's own template version, could not be met, or if the board
        seats someone who configured this governance."""
        settings = request.app.state.settings
        projects = await projects_of_portfolio(store, portfolio_id, settings.min_position_wait_s)
        result = await administration.change_board(
            store,
            portfolio_id=portfolio_id,
            project_ids=projects,
            board=Board(tuple(data.board.members), data.board.chair),
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/envelope",
        operation_id="changeEnvelope",
        summary="Change the envelope (pmo_admin)",
        status_code=200,
    )
    async def envelope(
        self, portfolio_id: UUID, data: ChangeEnvelope, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        """A new budget envelope in the portfolio's currency, with the reason."""
        result = await administration.change_envelope(
            store,
            portfolio_id=portfolio_id,
            envelope=data.envelope.to_money(),
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)


class ProjectAdministration(Controller):
    path = "/projects/{project_id:uuid}"
    tags = ["projects"]

    @post(
        "/roles",
        operation_id="changeProjectRole",
        summary="Assign or revoke a role",
        status_code=200,
    )
    async def roles(
        self, project_id: UUID, data: ChangeProjectRole, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        """Assign a PM or sponsor (the new holder replaces the old) or a stakeholder;
        revoke a stakeholder (pmo_admin)."""
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
        return answer(result)

    @post("/hold", operation_id="holdProject", summary="Put on hold (pmo_admin)", status_code=200)
    async def hold(
        self, project_id: UUID, data: Reason, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        result = await administration.hold_project(
            store,
            project_id=project_id,
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/resume",
        operation_id="resumeProject",
        summary="Resume from hold (pmo_admin)",
        status_code=200,
    )
    async def resume(
        self, project_id: UUID, data: Reason, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        result = await administration.resume_project(
            store,
            project_id=project_id,
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/rebaseline",
        operation_id="rebaselineProject",
        summary="Re-baseline (pmo_admin)",
        status_code=200,
    )
    async def rebaseline(
        self, project_id: UUID, data: RebaselineProject, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        """A new baseline outside a change request, with the reason."""
        b = data.baseline
        result = await administration.rebaseline_project(
            store,
            project_id=project_id,
            baseline=Baseline(b.budget.to_money(), b.start, b.end, b.scope),
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)
