"""Projects: the list with filters (cursor pagination) and one project's detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.access import visible_ids_sql
from projections.base import table
from projections.governance_state import PROJECTS
from projections.subjects import INTERNAL


async def list_projects(
    pool: asyncpg.Pool,
    names: StoreNames,
    *,
    portfolio_id: UUID | None = None,
    stage: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int = 100,
    seen_by: tuple[str, datetime] | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Projects in creation order after the cursor; ``seen_by`` (person, time) keeps
    those the person sees (``projections.access``). Returns the page and the next
    cursor."""
    clauses, params = ["created_position > $1"], [after]
    if seen_by is not None:
        params += list(seen_by)
        clauses.append(f"project_id IN {visible_ids_sql(names, 'project', '$2', '$3')}")
    for column, value in (("portfolio_id", portfolio_id), ("stage", stage), ("status", status)):
        if value is not None:
            params.append(value)
            clauses.append(f"{column} = ${len(params)}")
    params.append(limit + 1)
    sql = (
        f"SELECT project_id, created_position, doc FROM {table(names, PROJECTS)} "
        f"WHERE {' AND '.join(clauses)} ORDER BY created_position LIMIT ${len(params)}"
    )
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, *params)
    items = [summary(r[0], r[2]) for r in rows[:limit]]
    cursor = rows[limit - 1][1] if len(rows) > limit else None
    return items, cursor


async def project_detail(pool: asyncpg.Pool, names: StoreNames, project_id: UUID) -> dict | None:
    async with pool.acquire() as conn:
        doc = await conn.fetchval(
            f"SELECT doc FROM {table(names, PROJECTS)} WHERE project_id = $1", project_id
        )
    if doc is None:
        return None
    detail = {"id": str(project_id), **doc}
    review = doc.get("review")
    if review is not None:
        votes = [{"voter": k, "vote": v} for k, v in review["votes"].items()]
        detail["review"] = {**review, "votes": votes}
    for internal in ("gates_passed", *INTERNAL):
        detail.pop(internal, None)
    return detail


def summary(project_id: UUID, doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("portfolio_id", "name", "status", "stage", "pm", "sponsor", "next_gate", "version")
    out = {"id": str(project_id), **{k: doc.get(k) for k in keys}}
    out["budget"] = {"amount": doc["budget"], "currency": doc["currency"]}
    out["open_review"] = (doc.get("review") or {}).get("gate")
    return out
