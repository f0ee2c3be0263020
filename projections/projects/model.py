"""Read model ``projects``: one row per project (``rm_projects``), its document and the
typed columns the project list filters and sorts by. Folded from Project events only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import index_name, table
from projections.folds.documents import Batch
from projections.folds.model import FoldedModel, copy_rows, fetch_docs

PROJECTS = "rm_projects"

COLUMNS = (
    "project_id",
    "portfolio_id",
    "name",
    "status",
    "stage",
    "pm",
    "sponsor",
    "budget",
    "currency",
    "approved_cost",
    "approved_schedule_days",
    "next_gate",
    "version",
    "created_position",
    "updated_at",
    "doc",
)


class Projects(FoldedModel):
    name = "projects"
    tables = (PROJECTS,)
    # 5: a read model of its own (was part of "governance", version 4)
    version = 5
    aggregates = frozenset({"Project"})

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        t = table(names, PROJECTS, suffix)

        def ix(cols: str) -> str:
            return (
                f"CREATE INDEX IF NOT EXISTS {index_name(PROJECTS, cols, suffix)} ON {t} ({cols})"
            )

        return [
            f"CREATE TABLE IF NOT EXISTS {t} (project_id uuid PRIMARY KEY, portfolio_id uuid "
            "NOT NULL, name text NOT NULL, status text NOT NULL, stage text NOT NULL, pm text, "
            "sponsor text, budget numeric NOT NULL, currency text NOT NULL, approved_cost "
            "numeric NOT NULL, approved_schedule_days int NOT NULL, next_gate text, version int "
            "NOT NULL, created_position bigint NOT NULL, updated_at timestamptz NOT NULL, "
            "doc jsonb NOT NULL)",
            ix("portfolio_id, created_position"),
            ix("status, created_position"),
            ix("stage, created_position"),
            ix("created_position"),
        ]

    async def load(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        changes: Sequence[Change],
        batch: Batch,
    ) -> None:
        ids = {c.aggregate_id for c in changes}
        for r in await fetch_docs(conn, table(names, PROJECTS, suffix), "project_id", ids):
            batch.projects[r[0]] = r[1]

    async def write(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        batch: Batch,
        *,
        fresh: bool = False,
    ) -> None:
        if fresh:
            rows = [row(pid, d) for pid, d in batch.projects.items()]
            await copy_rows(conn, names, PROJECTS, suffix, rows, COLUMNS)
            return
        if not batch.dirty_projects:
            return
        cols = ", ".join(COLUMNS)
        values = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
        await conn.executemany(
            f"INSERT INTO {table(names, PROJECTS, suffix)} ({cols}) VALUES ({values}) "
            f"ON CONFLICT (project_id) DO UPDATE SET {updates}",
            [row(pid, batch.projects[pid]) for pid in batch.dirty_projects],
        )


def row(pid: UUID, d: dict[str, Any]) -> tuple[Any, ...]:
    return (
        pid,
        UUID(d["portfolio_id"]),
        d["name"],
        d["status"],
        d["stage"],
        d["pm"],
        d["sponsor"],
        Decimal(d["budget"]),
        d["currency"],
        Decimal(d["approved_cost"]),
        d["approved_schedule_days"],
        d["next_gate"],
        d["version"],
        d["created_position"],
        datetime.fromisoformat(d["modified_at"]),
        d,
    )
