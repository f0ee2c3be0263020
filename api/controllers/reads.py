"""Reads served from the read models: portfolios, projects, inbox."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from api.access import Viewer
from api.answers import HistoryPage, Inbox, PortfolioPage, PortfolioView, ProjectPage, paged, typed
from api.auth import Principal
from api.controllers.projects import history_page
from api.reads import (
    Cursor,
    Limit,
    MinPosition,
    as_of_point,
    ensure_position,
    missing,
    parse_cursor,
    set_aside_note,
    utc_now,
)
from api.settings import Settings
from eventstore.database import Store
from projections.inbox import queries as inbox
from projections.portfolios import queries as portfolio_view
from projections.portfolios.as_of import portfolio_view_as_of
from projections.projects import queries as project_list
from workflows.errors import UnknownAggregate


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


class PortfolioReads(Controller):
    path = "/portfolios"
    tags = ["portfolios"]

    @get("/", operation_id="listPortfolios", summary="All portfolios")
    async def list(
        self,
        request: Request,
        principal: Principal,
        store: Store,
        viewer: Viewer,
        after: str = Cursor,
        limit: int = Limit,
        min_position: int = MinPosition,
    ) -> PortfolioPage:
        await ensure_position(store, settings_of(request), min_position)
        items, cursor = await portfolio_view.list_portfolios(
            store.pool,
            store.names,
            seen_by=viewer.seen_by,
            after=parse_cursor(after),
            limit=limit,
        )
        return paged(PortfolioPage, items, cursor)

    @get(
        "/{portfolio_id:uuid}/history", operation_id="getPortfolioHistory", summary="Event history"
    )
    async def history(
        self, portfolio_id: UUID, store: Store, after: str = Cursor, limit: int = Limit
    ) -> HistoryPage:
        """The portfolio's events in order, a page at a time (``next``: the last version)."""
        return await history_page(store, portfolio_id, after, limit)

    @get("/{portfolio_id:uuid}", operation_id="getPortfolio", summary="The portfolio view")
    async def read(
        self,
        portfolio_id: UUID,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: int = MinPosition,
        as_of: str | None = Parameter(
            default=None, max_length=40, description="event position or RFC 3339 time"
        ),
    ) -> Response[PortfolioView]:
        """The portfolio now, or as it stood at a position or time (the same shape, with
        ``as_of_position``)."""
        await ensure_position(store, settings_of(request), min_position)
        if as_of is not None:
            position, at = await as_of_point(store, as_of)
            past = await portfolio_view_as_of(store, portfolio_id, position=position, at=at)
            if past is None:
                raise UnknownAggregate(f"portfolio {portfolio_id} did not exist at {as_of}")
            return Response(typed(past, PortfolioView))
        view = await portfolio_view.portfolio_view(
            store.pool, store.names, portfolio_id, utc_now().date()
        )
        if view is None:
            raise await missing(store, "portfolio", portfolio_id)
        note = await set_aside_note(store, portfolio_id)
        return Response(typed(view, PortfolioView), headers=note)


class ProjectReads(Controller):
    path = "/projects"
    tags = ["projects"]

    @get("/", operation_id="listProjects", summary="Projects, filtered")
    async def list(
        self,
        request: Request,
        principal: Principal,
        store: Store,
        viewer: Viewer,
        portfolio_id: UUID | None = None,
        stage: str | None = Parameter(default=None, max_length=100),
        status: str | None = Parameter(default=None, max_length=20),
        after: str = Cursor,
        limit: int = Limit,
        min_position: int = MinPosition,
    ) -> ProjectPage:
        await ensure_position(store, settings_of(request), min_position)
        items, cursor = await project_list.list_projects(
            store.pool,
            store.names,
            portfolio_id=portfolio_id,
            stage=stage,
            status=status,
            after=parse_cursor(after),
            limit=limit,
            seen_by=viewer.seen_by,
        )
        return paged(ProjectPage, items, cursor)


class InboxReads(Controller):
    path = "/me"
    tags = ["inbox"]

    @get("/inbox", operation_id="getInbox", summary="What awaits the caller")
    async def inbox(
        self,
        request: Request,
        principal: Principal,
        store: Store,
        min_position: int = MinPosition,
        after: str = Cursor,
        limit: int = Limit,
    ) -> Inbox:
        await ensure_position(store, settings_of(request), min_position)
        now, offset = utc_now(), parse_cursor(after)
        items = await inbox.inbox_for(
            store.pool, store.names, principal.sub, now.date(), now, offset=offset, limit=limit + 1
        )
        more = len(items) > limit
        nxt = str(offset + limit) if more else None
        return typed({"person": principal.sub, "items": items[:limit], "next": nxt}, Inbox)
