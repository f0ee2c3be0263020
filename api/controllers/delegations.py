"""Delegations: delegate authority for a window, revoke it."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, delete, post
from litestar.params import Parameter

from api.access import Kind, Viewer, hidden
from api.commands import Command, answer
from api.reads import utc_now
from api.schemas import CommandAnswer, Delegate
from domain.errors import InvalidValue
from eventstore.database import Store
from workflows import delegations


class DelegationController(Controller):
    path = "/delegations"
    tags = ["delegations"]

    @post("/", operation_id="delegate", summary="Delegate your authority for a window")
    async def delegate(
        self, data: Delegate, command: Command, store: Store, viewer: Viewer, request: Request
    ) -> Response[CommandAnswer]:
        now = utc_now()
        # A scope the caller cannot see is answered as one that does not exist, so a
        # delegation cannot probe which ids exist.
        scopes: tuple[tuple[Kind, UUID | None], ...] = (
            ("project", data.project_id),
            ("portfolio", data.portfolio_id),
        )
        for kind, object_id in scopes:
            if object_id is not None and await hidden(request, store, viewer, kind, object_id):
                raise InvalidValue(f"{kind}_id: no {kind} {object_id} exists")
        result = await delegations.delegate_authority(
            store,
            delegate=data.delegate,
            starts=data.starts or now,
            ends=data.ends,
            portfolio_id=data.portfolio_id,
            project_id=data.project_id,
            by=command.by(),
            now=now,
            options=command.options,
        )
        return answer(result, 201)

    @delete(
        "/{delegation_id:uuid}", operation_id="revokeDelegation", summary="Revoke", status_code=200
    )
    async def revoke(
        self,
        delegation_id: UUID,
        command: Command,
        store: Store,
        reason: str = Parameter(default="revoked by the delegator", max_length=500),
    ) -> Response[CommandAnswer]:
        result = await delegations.revoke_delegation(
            store,
            delegation_id=delegation_id,
            reason=reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)
