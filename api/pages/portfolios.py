"""The portfolio pages (issue 13): the portfolios the reader sees, and one portfolio's
projects by stage as columns, its budget committed against the envelope (a bar, overrun
flagged) and its pending and overdue decisions.

Reads only the read models, through the API's own queries: ``list_portfolios`` and
``list_projects`` filtered to what the reader sees (``Viewer.seen_by``) and
``portfolio_view`` (the same answer as ``GET /portfolios/{id}``). Overdue items per
project come from the inbox read model's pending items of the portfolio.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.response import Template

from api.pages.render import render
from api.reads import missing, utc_now
from eventstore.database import Store
from projections.engine.read_model import table
from projections.inbox.model import INBOX
from projections.portfolios import queries as portfolio_view
from projections.projects import queries as project_list

SHOWN = 500  # projects (and portfolios) a page shows; more are counted, not drawn


async def overdue_by_project(store: Store, portfolio_id: UUID) -> dict[str, int]:
    """Each project's overdue pending decisions (as ``portfolio_view`` counts them:
    conditions and escalation notices left out), from the inbox read model."""
    today = utc_now().date()
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT project_id, count(*) FROM {table(store.names, INBOX)} "
            "WHERE portfolio_id = $1 AND due < $2 AND kind NOT IN ('condition', 'escalated') "
            "AND project_id IS NOT NULL GROUP BY project_id",
            portfolio_id,
            today,
        )
    return {str(r[0]): int(r[1]) for r in rows}


def budget_bar(budget: dict[str, Any]) -> dict[str, Any]:
    """Committed (and closed) budget against the envelope, as widths in percent."""
    envelope = Decimal(budget["envelope"]["amount"])
    carried = Decimal(budget["baseline_total"]["amount"])
    scale = max(envelope, carried) or Decimal(1)
    return {
        "carried_pct": float(carried * 100 / scale),
        "envelope_pct": float(envelope * 100 / scale),
        "used_pct": int(carried * 100 / envelope) if envelope > 0 else None,
    }


class PortfolioPages(Controller):
    path = "/portfolios"
    include_in_schema = False

    @get("/", operation_id="pagePortfolios")
    async def index(self, request: Request, store: Store) -> Template:
        viewer = request.state.viewer  # the guard's (api.access.Viewer)
        items, more = await portfolio_view.list_portfolios(
            store.pool, store.names, seen_by=viewer.seen_by, limit=SHOWN
        )
        return render(request, "portfolios.html", title="Portfolios", items=items, more=more)

    @get("/{portfolio_id:uuid}", operation_id="pagePortfolio")
    async def show(self, request: Request, portfolio_id: UUID, store: Store) -> Template:
        viewer = request.state.viewer  # the guard's (api.access.Viewer)
        view = await portfolio_view.portfolio_view(
            store.pool, store.names, portfolio_id, utc_now().date()
        )
        if view is None:
            raise await missing(store, "portfolio", portfolio_id)
        projects, more = await project_list.list_projects(
            store.pool,
            store.names,
            portfolio_id=portfolio_id,
            seen_by=viewer.seen_by,
            limit=SHOWN,
        )
        overdue = await overdue_by_project(store, portfolio_id)
        columns: dict[str, list[dict[str, Any]]] = {}
        for stage in view["projects"]["by_stage"]:
            columns[stage] = []
        for p in projects:
            p["overdue"] = overdue.get(p["id"], 0)
            columns.setdefault(p["stage"], []).append(p)
        return render(
            request,
            "portfolio.html",
            title=view["name"],
            portfolio=view,
            columns=columns,
            more=more is not None,
            bar=budget_bar(view["budget"]),
            shown=len(projects),
        )
