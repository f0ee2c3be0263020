"""Sign-offs: request (PM), sign or decline (named signatories), read."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, get, post

from api.answers import HistoryPage, SignOff, SignOffPage, paged, typed
from api.auth import Principal
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
from api.schemas import CommandAnswer, RequestSignOff, SignOffAnswer
from eventstore.database import Store
from projections.requests.queries import subject, subjects_of_project
from workflows import signoffs

KIND = "signoff"


class ProjectSignOffs(Controller):
    path = "/projects/{project_id:uuid}/signoffs"
    tags = ["sign-offs"]

    @post("/", operation_id="requestSignOff", summary="The PM requests sign-off of a version")
    async def request_signoff(
        self,
        project_id: UUID,
        data: RequestSignOff,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        result = await signoffs.request_signoff(
            store,
            project_id=project_id,
            deliverable=data.deliverable,
            version=data.version,
            content_hash=data.content_hash,
            signatories=data.signatories,
            by=command.by(),
            now=utc_now(),
            options=command.options,
        )
        return answer(result, 201)

    @get("/", operation_id="listSignOffs", summary="A project's sign-off requests")
    async def list(
        self,
        project_id: UUID,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: int = MinPosition,
        after: str = Cursor,
        limit: int = Limit,
    ) -> SignOffPage:
        await ensure_position(store, request.app.state.settings, min_position)
        items, cursor = await subjects_of_project(
            store.pool, store.names, project_id, KIND, after=parse_cursor(after), limit=limit
        )
        return paged(SignOffPage, items, cursor)


class SignOffController(Controller):
    path = "/signoffs/{signoff_id:uuid}"
    tags = ["sign-offs"]

    @get("/", operation_id="getSignOff", summary="State of a sign-off request")
    async def read(
        self,
        signoff_id: UUID,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: int = MinPosition,
    ) -> Response[SignOff]:
        await ensure_position(store, request.app.state.settings, min_position)
        found = await subject(store.pool, store.names, signoff_id, KIND)
        if found is None:
            raise await missing(store, "sign-off", signoff_id)
        note = await set_aside_note(store, signoff_id)
        return Response(typed(found, SignOff), headers=note)

    @get("/history", operation_id="getSignOffHistory", summary="Event history")
    async def history(
        self, signoff_id: UUID, store: Store, after: str = Cursor, limit: int = Limit
    ) -> HistoryPage:
        """The sign-off request's events in order, a page at a time (``next``: the last version)."""
        return await history_page(store, signoff_id, after, limit)

    @post("/sign", operation_id="signSignOff", summary="A signatory signs", status_code=200)
    async def sign(
        self,
        signoff_id: UUID,
        data: SignOffAnswer,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        result = await signoffs.sign_signoff(
            store,
            signoff_id=signoff_id,
            comment=data.comment,
            by=command.by(),
            options=command.options,
        )
        return answer(result)

    @post(
        "/decline", operation_id="declineSignOff", summary="A signatory declines", status_code=200
    )
    async def decline(
        self,
        signoff_id: UUID,
        data: SignOffAnswer,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        result = await signoffs.decline_signoff(
            store,
            signoff_id=signoff_id,
            comment=data.comment,
            by=command.by(),
            options=command.options,
        )
        return answer(result)
