"""The portfolio view: projects by stage and status, budget vs envelope, pending work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.access import visible_ids_sql
from projections.engine.read_model import table
from projections.inbox.model import INBOX
from projections.portfolios.model import PORTFOLIOS
from projections.projects.model import PROJECTS


def portfolio_sql(names: StoreNames) -> str:
    """One statement, one round trip: the portfolio ($1), its projects grouped by stage
    and status, and its pending decisions (overdue: due before $2)."""
    pr, ib = table(names, PROJECTS), table(names, INBOX)
    return (
        f"SELECT p.doc, i.pending, i.overdue, ("
        f"SELECT array_agg(ROW(stage, status, n, budget, approved, days)) FROM ("
        f"SELECT stage, status, count(*) AS n, sum(budget) AS budget, "
        f"sum(approved_cost) AS approved, sum(approved_schedule_days) AS days "
        f"FROM {pr} WHERE portfolio_id = $1 GROUP BY stage, status) g) AS groups "
        f"FROM {table(names, PORTFOLIOS)} p CROSS JOIN LATERAL ("
        f"SELECT count(*) AS pending, count(*) FILTER (WHERE due < $2) AS overdue "
        f"FROM {ib} WHERE portfolio_id = $1 AND kind NOT IN ('condition', 'escalated')) i "
        "WHERE p.portfolio_id = $1"
    )


async def portfolio_view(
    pool: asyncpg.Pool, names: StoreNames, portfolio_id: UUID, today: date
) -> dict[str, Any] | None:
    """The portfolio view as of now (``today`` decides what is overdue)."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(portfolio_sql(names), portfolio_id, today)
    if row is None:
        return None
    return shape(portfolio_id, row["doc"], row["groups"] or [], row)


# Where a project's budget counts, by its status: killed and cancelled projects release
# theirs, closed ones spent theirs; proposed, active and on-hold ones are committed.
BUDGET_KIND = {"cancelled": "released", "closed": "closed"}

# (stage, status, projects, baseline budget, approved cost delta, approved schedule days)
Group = tuple[str, str, int, Decimal, Decimal, int]


def shape(
    portfolio_id: UUID, doc: dict[str, Any], groups: Sequence[Sequence[Any]], pending: Any
) -> dict[str, Any]:
    """The portfolio view's answer, from its document, its project groups and the
    pending decisions (``pending`` and ``overdue`` by key)."""
    by_stage: dict[str, int] = {}
    by_status: dict[str, int] = {}
    sums = {"committed": Decimal(0), "released": Decimal(0), "closed": Decimal(0)}
    approved = Decimal(0)
    days = 0
    for stage, status, n, g_budget, g_approved, g_days in groups:
        by_stage[stage] = by_stage.get(stage, 0) + n
        by_status[status] = by_status.get(status, 0) + n
        sums[BUDGET_KIND.get(status, "committed")] += g_budget or 0
        approved += g_approved or 0
        days += g_days or 0
    currency = doc["currency"]
    carried = sums["committed"] + sums["closed"]
    remaining = Decimal(doc["envelope"]) - carried
    return {
        "id": str(portfolio_id),
        "name": doc["name"],
        "objectives": doc.get("objectives", []),
        "board": {"members": doc["members"], "chair": doc["chair"]},
        "template": doc.get("template"),
        "version": doc["version"],
        "projects": {"total": sum(by_stage.values()), "by_stage": by_stage, "by_status": by_status},
        "budget": {
            "envelope": {"amount": doc["envelope"], "currency": currency},
            "baseline_total": {"amount": str(carried), "currency": currency},
            "remaining": {"amount": str(remaining), "currency": currency},
            **{k: {"amount": str(v), "currency": currency} for k, v in sums.items()},
            "overrun": remaining < 0,
            "over_by": {
                "amount": str(-remaining if remaining < 0 else remaining * 0),
                "currency": currency,
            },
        },
        "approved_changes": {
            "cost": {"amount": str(approved), "currency": currency},
            "schedule_days": days,
        },
        "decisions": {"pending": pending["pending"], "overdue": pending["overdue"]},
    }


async def list_portfolios(
    pool: asyncpg.Pool,
    names: StoreNames,
    *,
    seen_by: tuple[str, datetime] | None = None,
    after: int = 0,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int | None]:
    """Portfolios by name, a page after the cursor (an offset); ``seen_by`` (person,
    time) keeps those the person sees (``projections.access``). Returns the page and
    the next cursor."""
    params: list[Any] = [after, limit + 1]
    where = ""
    if seen_by is not None:
        params += list(seen_by)
        where = f"WHERE portfolio_id IN {visible_ids_sql(names, 'portfolio', '$3', '$4')} "
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT portfolio_id, name, version FROM {table(names, PORTFOLIOS)} {where}"
            "ORDER BY name, portfolio_id OFFSET $1 LIMIT $2",
            *params,
        )
    items = [{"id": str(r[0]), "name": r[1], "version": r[2]} for r in rows[:limit]]
    return items, (after + limit if len(rows) > limit else None)
