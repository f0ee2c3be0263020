"""The inbox: what a person owes, directly or through an active delegation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from eventstore.schema import StoreNames
from projections.delegations.model import DELEGATIONS
from projections.engine.read_model import table
from projections.inbox.model import INBOX


async def inbox_for(
    pool: asyncpg.Pool,
    names: StoreNames,
    person: str,
    today: date,
    now: datetime,
    *,
    offset: int = 0,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Items owed by ``person``, or by someone who delegated to them (then ``for`` is set)."""
    sql = inbox_sql(names)
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, person, now, limit, offset)
    return [
        {
            "subject_id": str(r["subject_id"]),
            "kind": r["kind"],
            "project_id": str(r["project_id"]) if r["project_id"] else None,
            "portfolio_id": str(r["portfolio_id"]) if r["portfolio_id"] else None,
            "title": r["title"],
            "due": r["due"].isoformat() if r["due"] else None,
            "overdue": r["due"] is not None and r["due"] < today,
            "escalated": r["escalated"],
            "since": r["since"].isoformat(),
            "on_behalf_of": r["on_behalf_of"],
        }
        for r in rows
    ]


async def overdue_items(
    pool: asyncpg.Pool, names: StoreNames, today: date, limit: int = 1000
) -> list[tuple[Any, str, str, date, Any]]:
    """(subject_id, person, kind, due, project_id) of pending items past their due date
    and not escalated for it yet, oldest first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT subject_id, person, kind, due, project_id FROM {table(names, INBOX)} "
            "WHERE due < $1 AND NOT escalated ORDER BY due LIMIT $2",
            today,
            limit,
        )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def inbox_counts(
    pool: asyncpg.Pool, names: StoreNames, person: str, today: date, now: datetime
) -> tuple[int, int]:
    """How many items ``person`` owes (as ``inbox_for`` lists them), and how many of
    them are overdue."""
    sql = f"SELECT count(*), count(*) FILTER (WHERE due < $5) FROM ({inbox_sql(names)}) page"
    async with pool.acquire() as conn:
        row = await conn.fetchrow(sql, person, now, 1_000_000, 0, today)
    assert row is not None
    return int(row[0]), int(row[1])


def inbox_sql(names: StoreNames) -> str:
    """Parameters: $1 person, $2 now, $3 limit, $4 offset."""
    cols = (
        "i.subject_id, i.kind, i.project_id, i.portfolio_id, i.title, i.due, i.since, i.escalated, "
    )
    # Two branches so each uses its index: what the person owes, and what is owed by
    # someone who delegated to them (active now, in scope).
    return (
        f"SELECT * FROM (SELECT {cols} NULL::text AS on_behalf_of "
        f"FROM {table(names, INBOX)} i WHERE i.person = $1 "
        f"UNION ALL SELECT {cols} i.person AS on_behalf_of "
        f"FROM {table(names, DELEGATIONS)} d JOIN {table(names, INBOX)} i "
        "ON i.person = d.delegator AND i.person <> $1 "
        "AND i.kind IN ('vote', 'decision', 'cr_vote', 'cr_decision') "
        "AND (d.portfolio_id IS NULL OR d.portfolio_id = i.portfolio_id) "
        "AND (d.project_id IS NULL OR d.project_id = i.project_id) "
        "WHERE d.delegate = $1 AND NOT d.revoked AND d.starts <= $2 AND d.ends > $2) x "
        "ORDER BY due NULLS LAST, since, subject_id, kind LIMIT $3 OFFSET $4"
    )
