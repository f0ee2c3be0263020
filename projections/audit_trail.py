"""The audit trail: one row per event, queryable by project, actor, type and time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.audit_sql import insert_audit_rows_sql, insert_project_scope_sql
from projections.base import index_name, table
from projections.changes import Change

TABLE = "rm_audit"
SCOPE = "rm_audit_projects"  # project -> portfolio, for the rows of later project events
COLUMNS = (
    "position",
    "at",
    "aggregate_id",
    "aggregate_type",
    "type",
    "actor",
    "on_behalf_of",
    "project_id",
    "portfolio_id",
    "correlation_id",
    "summary",
)


class AuditTrail:
    """Projection ``audit``: append-only rows, computed by PostgreSQL from the events."""

    name = "audit"
    tables = (TABLE, SCOPE)

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        t = table(names, TABLE, suffix)
        ix = [
            ("project_id, position", "project_id"),
            # ``at`` as a key column: a time range is checked inside the index while
            # the scan walks the actor's events in position order.
            ("actor, position, at", "actor"),
            ("type, position", "type"),
            ("at", "at"),
            ("portfolio_id, position", "portfolio_id"),
        ]
        return [
            f"CREATE TABLE IF NOT EXISTS {table(names, SCOPE, suffix)} (project_id uuid "
            "PRIMARY KEY, portfolio_id uuid NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t} (position bigint PRIMARY KEY, at timestamptz "
            "NOT NULL, aggregate_id uuid NOT NULL, aggregate_type text NOT NULL, type text NOT "
            "NULL, actor text, on_behalf_of text, project_id uuid, portfolio_id uuid, "
            "correlation_id text, summary text NOT NULL)",
            *(
                f"CREATE INDEX IF NOT EXISTS {index_name(TABLE, cols, suffix)} ON {t} ({cols})"
                for cols, _ in ix
            ),
        ]

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        if changes:
            await self.apply_range(
                conn, names, changes[0].position - 1, changes[-1].position, suffix
            )

    async def apply_range(
        self, conn: asyncpg.Connection, names: StoreNames, after: int, upto: int, suffix: str
    ) -> int:
        """Rows for the events with ``after < position <= upto`` (one statement)."""
        scope = table(names, SCOPE, suffix)
        await conn.execute(insert_project_scope_sql(names, scope), after, upto)
        sql = insert_audit_rows_sql(names, table(names, TABLE, suffix), scope)
        status = await conn.execute(sql, after, upto)
        return int(status.rsplit(" ", 1)[-1])


@dataclass(frozen=True)
class AuditFilter:
    project_id: UUID | None = None
    actor: str | None = None
    type: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    after: int = 0


def _where(f: AuditFilter) -> tuple[str, list[Any]]:
    clauses, params = ["position > $1"], [f.after]
    for column, value, op in (
        ("project_id", f.project_id, "="),
        ("actor", f.actor, "="),
        ("type", f.type, "="),
        ("at", f.start, ">="),
        ("at", f.end, "<"),
    ):
        if value is not None:
            params.append(value)
            clauses.append(f"{column} {op} ${len(params)}")
    return " AND ".join(clauses), params


def page_sql(names: StoreNames, f: AuditFilter, limit: int) -> tuple[str, list[Any]]:
    """The statement and parameters of one page of the trail."""
    where, params = _where(f)
    params.append(limit)
    sql = (
        f"SELECT {', '.join(COLUMNS)} FROM {table(names, TABLE)} WHERE {where} "
        f"ORDER BY position LIMIT ${len(params)}"
    )
    return sql, params


async def query(
    pool: asyncpg.Pool, names: StoreNames, f: AuditFilter, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the trail in position order, and the cursor for the next page."""
    sql, params = page_sql(names, f, limit + 1)
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, *params)
    items = [dict(r) for r in rows[:limit]]
    more = len(rows) > limit
    return items, (items[-1]["position"] if more and items else None)


async def stream(
    pool: asyncpg.Pool, names: StoreNames, f: AuditFilter, chunk: int = 2000
) -> AsyncIterator[dict[str, Any]]:
    """Every matching row, read with a server-side cursor: constant memory."""
    where, params = _where(f)
    sql = f"SELECT {', '.join(COLUMNS)} FROM {table(names, TABLE)} WHERE {where} ORDER BY position"
    async with pool.acquire() as conn, conn.transaction():
        async for r in conn.cursor(sql, *params, prefetch=chunk):
            yield dict(r)
