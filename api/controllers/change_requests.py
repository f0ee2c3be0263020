"""Change requests: draft, submit, assess, vote, decide, withdraw, implement, read."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, get, post

from api.answers import ChangeRequest, ChangeRequestPage, HistoryPage, typed
from api.auth import Principal, require_role
from api.commands import Command, answer
from api.controllers.projects import history_page
from api.reads import (
    Cursor,
    Limit,
    MinPosition,
    ensure_position,
    missing,
    parse_cursor,
    set_aside_note,
    utc_now,
)
from api.schemas import (
    AssessChangeRequest,
    CastVote,
    CommandAnswer,
    DecideChangeRequest,
    DraftChangeRequest,
    Reason,
)
from domain.change_request import CRDecision
from domain.gate_review import Vote
from eventstore.database import Store
from projections.requests.queries import subject, subjects_of_project
from workflows import change_requests as crs
from workflows.uow import CommandResult

KIND = "change_request"


class ProjectChangeRequests(Controller):
    path = "/projects/{project_id:uuid}/change-requests"
    tags = ["change requests"]

    @post("/", operation_id="draftChangeRequest", summary="The PM raises a CR (draft)")
    async def draft(
        self,
        project_id: UUID,
        data: DraftChangeRequest,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        result = await crs.draft_change_request(
            store,
            project_id=project_id,
            title=data.title,
            description=data.description,
            cost_delta=data.cost_delta.to_money(),
            schedule_delta_days=data.schedule_delta_days,
            scope=data.scope,
            risk=data.risk,
            by=command.by(),
            options=command.options,
        )
        return answer(result, 201)

    @get("/", operation_id="listChangeRequests", summary="A project's CRs")
    async def list(
        self,
        project_id: UUID,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: int = MinPosition,
        after: str = Cursor,
        limit: int = Limit,
    ) -> ChangeRequestPage:
        await ensure_position(store, request.app.state.settings, min_position)
        items, cursor = await subjects_of_project(
            store.pool, store.names, project_id, KIND, after=parse_cursor(after), limit=limit
        )
        return typed(
            {"items": items, "next": None if cursor is None else str(cursor)}, ChangeRequestPage
        )


class ChangeRequestController(Controller):
    path = "/change-requests/{change_request_id:uuid}"
    tags = ["change requests"]

    @get("/", operation_id="getChangeRequest", summary="A CR and its state")
    async def read(
        self,
        change_request_id: UUID,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: int = MinPosition,
    ) -> Response[ChangeRequest]:
        await ensure_position(store, request.app.state.settings, min_position)
        found = await subject(store.pool, store.names, change_request_id, KIND)
        if found is None:
            raise await missing(store, "change request", change_request_id)
        return Response(
            typed(found, ChangeRequest), headers=await set_aside_note(store, change_request_id)
        )

    @get("/history", operation_id="getChangeRequestHistory", summary="Event history")
    async def history(
        self, change_request_id: UUID, store: Store, after: str = Cursor, limit: int = Limit
    ) -> HistoryPage:
        """The change request's events in order, a page at a time (``next``: the last version)."""
        return await history_page(store, change_request_id, after, limit)

    @post(
        "/submit",
        operation_id="submitChangeRequest",
        summary="Submit; routes by tolerance",
        status_code=200,
    )
    async def submit(
        self, change_request_id: UUID, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        result = await crs.submit_change_request(
            store,
            change_request_id=change_request_id,
            by=command.by(),
            now=utc_now(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/amend",
        operation_id="amendChangeRequest",
        summary="Submitter amends; resets votes",
        status_code=200,
    )
    async def amend(
        self,
        change_request_id: UUID,
        data: DraftChangeRequest,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        result = await crs.amend_change_request(
            store,
            change_request_id=change_request_id,
            title=data.title,
            description=data.description,
            cost_delta=data.cost_delta.to_money(),
            schedule_delta_days=data.schedule_delta_days,
            scope=data.scope,
            risk=data.risk,
            by=command.by(),
            now=utc_now(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/assess",
        operation_id="assessChangeRequest",
        summary="Impact assessment (pmo_admin)",
        status_code=200,
    )
    async def assess(
        self,
        change_request_id: UUID,
        data: AssessChangeRequest,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        require_role(command.principal, "pmo_admin")
        result = await crs.assess_change_request(
            store,
            change_request_id=change_request_id,
            assessment=data.assessment,
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/votes",
        operation_id="voteChangeRequest",
        summary="Board vote on an escalated CR",
        status_code=200,
    )
    async def vote(
        self,
        change_request_id: UUID,
        data: CastVote,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        return answer(await vote_on(store, change_request_id, data, command))

    @post(
        "/decision",
        operation_id="decideChangeRequest",
        summary="Sponsor or chair decides",
        status_code=200,
    )
    async def decide(
        self,
        change_request_id: UUID,
        data: DecideChangeRequest,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        return answer(await decide_on(store, change_request_id, data, command))

    @post(
        "/withdraw",
        operation_id="withdrawChangeRequest",
        summary="Submitter withdraws",
        status_code=200,
    )
    async def withdraw(
        self,
        change_request_id: UUID,
        data: Reason,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        result = await crs.withdraw_change_request(
            store,
            change_request_id=change_request_id,
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/implement",
        operation_id="implementChangeRequest",
        summary="PM marks implemented",
        status_code=200,
    )
    async def implement(
        self, change_request_id: UUID, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        result = await crs.implement_change_request(
            store,
            change_request_id=change_request_id,
            by=command.by(),
            options=command.options,
        )
        return answer(result)


async def vote_on(
    store: Store, change_request_id: UUID, data: CastVote, command: Command
) -> CommandResult:
    """``voteChangeRequest``'s body as the workflow takes it (the CR page's form too)."""
    return await crs.vote_change_request(
        store,
        change_request_id=change_request_id,
        vote=Vote(data.vote),
        rationale=data.rationale,
        by=command.by(data.on_behalf_of),
        now=utc_now(),
        options=command.options,
    )


async def decide_on(
    store: Store, change_request_id: UUID, data: DecideChangeRequest, command: Command
) -> CommandResult:
    """``decideChangeRequest``'s body as the workflow takes it (the CR page's form too)."""
    return await crs.decide_change_request(
        store,
        change_request_id=change_request_id,
        decision=CRDecision(data.decision),
        rationale=data.rationale,
        by=command.by(data.on_behalf_of),
        now=utc_now(),
        options=command.options,
    )
