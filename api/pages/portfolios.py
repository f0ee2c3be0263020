"""The portfolio pages (issue 13): the portfolios the reader sees, and one portfolio's
projects by stage as columns, its budget committed against the envelope (a bar, overrun
flagged) and its pending and overdue decisions.

Reads only the read models, through the API's own queries: ``list_portfolios`` filtered
to what the reader sees (``Viewer.seen_by``), ``portfolio_view`` (the same answer as
``GET /portfolios/{id}``), and the projects as ``list_projects`` filters and
``summary`` shapes them, with only the card's fields taken out of each document. Overdue items per
project come from the inbox read model's pending items of the portfolio.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get
from litestar.response import Template

from api.pages.render import render
from api.reads import missing, utc_now
from eventstore.database import Store
from projections.access import visible_ids_sql
from projections.engine.read_model import table
from projections.inbox.model import INBOX
from projections.portfolios import queries as portfolio_view
from projections.projects import queries as project_list
from projections.projects.model import PROJECTS

SHOWN = 500  # projects (and portfolios) a page shows; more are counted, not drawn
# Cards per stage column: at 1M events a portfolio holds ~600 projects, ~150 KB of cards
# (bench/pages.py); the column's heading counts them all, the API lists the rest.
PER_STAGE = 30


# What a project card shows (``project_list.summary``'s keys): the read model's own
# columns, which hold the document's values (``Projects.row``), and the open review's gate
# from the document. Each ``doc->`` in a query decompresses the whole document again (~2 KB
# compressed, kept inline): the eleven of them took 25 ms for the 200 cards of the
# administration page at 1M events, the columns and one ``#>>`` 3 ms (bench/pages.py).
# A zero budget is read from the document: numeric has no negative zero, so a budget
# entered as -0.00 would read 0.00 from the column where the list and the project say
# -0.00 (a zero is rare: the document is read for it alone).
_CARD = (
    "portfolio_id::text, name, status, stage, pm, sponsor, next_gate, version, "
    "CASE WHEN budget = 0 THEN doc ->> 'budget' ELSE budget::text END, currency, "
    "doc #>> '{review,gate}'"
)
_CARD_KEYS = (
    "portfolio_id",
    "name",
    "status",
    "stage",
    "pm",
    "sponsor",
    "next_gate",
    "version",
    "budget",
    "currency",
)


def _card(row: asyncpg.Record) -> dict[str, Any]:
    """A card's row as ``summary`` reads a document: the columns, the review's gate."""
    doc: dict[str, Any] = dict(zip(_CARD_KEYS, row[1:-1], strict=True))
    doc["review"] = None if row[-1] is None else {"gate": row[-1]}
    return project_list.summary(row[0], doc)


async def project_cards(
    store: Store,
    *,
    portfolio_id: UUID | None = None,
    seen_by: tuple[str, datetime] | None = None,
    limit: int = SHOWN,
    per_stage: int | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Projects in creation order as ``list_projects`` gives them (the same filters and
    visibility), each as ``summary`` shapes it; and whether there are more. With
    ``per_stage``, at most that many of each stage (the portfolio's columns)."""
    clauses: list[str] = ["true"]
    params: list[Any] = []
    if portfolio_id is not None:
        params.append(portfolio_id)
        clauses.append(f"portfolio_id = ${len(params)}")
    if seen_by is not None:
        params += list(seen_by)
        n = len(params)
        subquery = visible_ids_sql(store.names, "project", f"${n - 1}", f"${n}")
        clauses.append(f"project_id IN {subquery}")
    params.append(limit + 1)
    where = " AND ".join(clauses)
    if per_stage is not None:
        where = (
            f"project_id IN (SELECT project_id FROM (SELECT project_id, row_number() OVER "
            f"(PARTITION BY stage ORDER BY created_position) AS n FROM "
            f"{table(store.names, PROJECTS)} WHERE {where}) s WHERE n <= {int(per_stage)})"
        )
    sql = (
        f"SELECT project_id, {_CARD} FROM {table(store.names, PROJECTS)} "
        f"WHERE {where} ORDER BY created_position LIMIT ${len(params)}"
    )
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(sql, *params)
    return [_card(r) for r in rows[:limit]], len(rows) > limit


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
        projects, more = await project_cards(
            store, portfolio_id=portfolio_id, seen_by=viewer.seen_by, per_stage=PER_STAGE
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
            more=more,
            bar=budget_bar(view["budget"]),
            shown=len(projects),
        )
