"""Delegations: delegate authority for a window, revoke it."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import Parameter

from api.access import Kind, Viewer, hidden
from api.answers import DelegationPage, paged
from api.commands import Command, answer
from api.reads import Cursor, Limit, MinPosition, ensure_position, parse_cursor, utc_now
from api.schemas import CommandAnswer, Delegate
from domain.errors import InvalidValue
from eventstore.database import Store
from projections.delegations import queries
from workflows import delegations


class DelegationController(Controller):
    path = "/delegations"
    tags = ["delegations"]

    @get("/", operation_id="listDelegations", summary="The caller's delegations")
    async def mine(
        self,
        viewer: Viewer,
        store: Store,
        request: Request,
        direction: Literal["given", "received"] = Parameter(
            default="given", description="given by the caller, or received by them"
        ),
        after: str = Cursor,
        limit: int = Limit,
        min_position: int = MinPosition,
    ) -> DelegationPage:
        """The delegations the caller gave (or received), in the order recorded, with
        whether each is active, upcoming, expired or revoked now."""
        await ensure_position(store, request.app.state.settings, min_position)
        items = await queries.delegations_of(
            store.pool,
            store.names,
            viewer.person,
            direction,
            utc_now(),
            after=parse_cursor(after),
            limit=limit + 1,
        )
        more = len(items) > limit
        return paged(DelegationPage, items[:limit], items[limit - 1]["position"] if more else None)

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
        """The delegator revokes one of their own; a ``pmo_admin`` may revoke anyone's."""
        pmo_for = None
        if command.principal.has("pmo_admin"):
            delegator = await queries.delegator_of(store.pool, store.names, delegation_id)
            if delegator is not None and delegator != command.principal.sub:
                pmo_for = delegator
                if reason == "revoked by the delegator":  # the default
                    reason = "revoked by the PMO"
        result = await delegations.revoke_delegation(
            store,
            delegation_id=delegation_id,
            reason=reason,
            by=command.by(),
            options=command.options,
            pmo_for=pmo_for,
        )
        return answer(result)
