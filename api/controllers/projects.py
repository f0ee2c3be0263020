"""Projects: create (pmo_admin), current state, as-of state, history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter

from api.answers import HistoryPage, ProjectDetail, typed
from api.auth import Principal, require_role
from api.commands import Command, answer
from api.reads import (
    Cursor,
    Limit,
    MinPosition,
    as_of_point,
    ensure_position,
    missing,
    parse_cursor,
    set_aside_note,
)
from api.schemas import CancelProject, CommandAnswer, CreateProject
from domain.policy import Baseline, Tolerances
from eventstore.database import Store
from projections.projects import queries as project_list
from workflows import portfolios
from workflows.errors import UnknownAggregate


class ProjectController(Controller):
    path = "/projects"
    tags = ["projects"]

    @post("/", operation_id="createProject", summary="Create a project (pmo_admin)")
    async def create(
        self, data: CreateProject, command: Command, store: Store
    ) -> Response[CommandAnswer]:
        require_role(command.principal, "pmo_admin")
        b, t = data.baseline, data.tolerances
        result = await portfolios.create_project(
            store,
            portfolio_id=data.portfolio_id,
            name=data.name,
            pm=data.pm,
            sponsor=data.sponsor,
            baseline=Baseline(b.budget.to_money(), b.start, b.end, b.scope),
            tolerances=Tolerances(Decimal(t.cost_pct), t.schedule_days),
            by=command.by(),
            options=command.options,
        )
        return answer(result, 201)

    @get("/{project_id:uuid}", operation_id="getProject", summary="Current or as-of state")
    async def read(
        self,
        project_id: UUID,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: int = MinPosition,
        as_of: str | None = Parameter(
            default=None, max_length=40, description="event position or RFC 3339 time"
        ),
    ) -> Response[ProjectDetail]:
        """The project now, or as it stood at a position or time (the same shape, with
        ``as_of_position``)."""
        if as_of is None:
            await ensure_position(store, request.app.state.settings, min_position)
            detail = await project_list.project_detail(store.pool, store.names, project_id)
            if detail is None:
                raise await missing(store, "project", project_id)
            note = await set_aside_note(store, project_id)
            headers = {"ETag": f'"{detail["version"]}"', **note}
            return Response(typed(detail, ProjectDetail), headers=headers)
        position, at = await as_of_point(store, as_of)
        then = await project_list.project_detail_as_of(store, project_id, position=position, at=at)
        if then is None:
            raise UnknownAggregate(f"project {project_id} did not exist at {as_of}")
        return Response(typed(then, ProjectDetail), headers={"ETag": f'"{then["version"]}"'})

    @get("/{project_id:uuid}/history", operation_id="getProjectHistory", summary="Event history")
    async def history(
        self,
        project_id: UUID,
        request: Request,
        store: Store,
        after: str = Cursor,
        limit: int = Limit,
    ) -> HistoryPage:
        """The project's events in order, a page at a time (``next``: the last version)."""
        return await history_page(store, project_id, after, limit)

    @post(
        "/{project_id:uuid}/cancel",
        operation_id="cancelProject",
        summary="Cancel (pmo_admin)",
        status_code=200,
    )
    async def cancel(
        self,
        project_id: UUID,
        data: CancelProject,
        command: Command,
        store: Store,
    ) -> Response[CommandAnswer]:
        require_role(command.principal, "pmo_admin")
        result = await portfolios.cancel_project(
            store,
            project_id=project_id,
            reason=data.reason,
            by=command.by(),
            options=command.options,
        )
        return answer(result)


async def history_page(store: Store, aggregate_id: UUID, after: str | None, limit: int) -> Any:
    """One page of an aggregate's events in order (``next``: the last version), as
    ``HistoryPage``: the history of a project, change request, sign-off or portfolio."""
    notes = await store.events.select_originator_notifications(
        aggregate_id, after_version=parse_cursor(after), limit=limit + 1
    )
    page = [history_entry(store, n) for n in notes[:limit]]
    more = len(notes) > limit
    return typed({"items": page, "next": str(page[-1]["version"]) if more else None}, HistoryPage)


def history_entry(store: Store, note: Any) -> dict[str, Any]:
    event = store.mapper.to_domain_event(note)
    data = {
        k: v
        for k, v in vars(event).items()
        if k not in ("originator_id", "originator_version", "timestamp", "originator_topic", "by")
    }
    by = getattr(event, "by", None)
    return {
        "position": note.id,
        "version": note.originator_version,
        "type": store.mapper.names.canonical(note.topic),
        "at": event.timestamp,
        "actor": getattr(by, "person", None),
        "on_behalf_of": getattr(by, "on_behalf_of", None),
        "data": msgspec.to_builtins(data, builtin_types=(datetime,), str_keys=True),
    }
