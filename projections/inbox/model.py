"""Projection ``governance``: portfolios, projects and inboxes, as of the tracked position.

Each batch loads the documents of the aggregates it touches, applies the events to them
in memory (handlers in ``projections.folds.documents``), writes the documents back and
recomputes the inbox items of every touched subject. The typed columns beside each
document serve the queries and their indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import BulkContext, index_name, table
from projections.folds.documents import ROLE_CHANGES, Batch
from projections.inbox.rules import apply_changes, inbox_items

PORTFOLIOS, PROJECTS, INBOX, SUBJECTS = "rm_portfolios", "rm_projects", "rm_inbox", "rm_subjects"
DELEGATIONS = "rm_delegations"

PROJECT_COLUMNS = (
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


class GovernanceState:
    name = "governance"
    tables = (PORTFOLIOS, PROJECTS, INBOX, SUBJECTS, DELEGATIONS)
    # 2: inboxes follow board and project-role changes; change requests found by portfolio
    # 3: inbox rows say whether their item was escalated for its due date
    # 4: who may vote or decide comes from domain.seats; configurers owe nothing
    version = 4
    retired: tuple[str, ...] = ()

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        pf, pr = table(names, PORTFOLIOS, suffix), table(names, PROJECTS, suffix)
        ib, sj = table(names, INBOX, suffix), table(names, SUBJECTS, suffix)

        def ix(base: str, t: str, cols: str) -> str:
            return f"CREATE INDEX IF NOT EXISTS {index_name(base, cols, suffix)} ON {t} ({cols})"

        return [
            f"CREATE TABLE IF NOT EXISTS {pf} (portfolio_id uuid PRIMARY KEY, name text NOT NULL,"
            " version int NOT NULL, doc jsonb NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {pr} (project_id uuid PRIMARY KEY, portfolio_id uuid "
            "NOT NULL, name text NOT NULL, status text NOT NULL, stage text NOT NULL, pm text, "
            "sponsor text, budget numeric NOT NULL, currency text NOT NULL, approved_cost "
            "numeric NOT NULL, approved_schedule_days int NOT NULL, next_gate text, version int "
            "NOT NULL, created_position bigint NOT NULL, updated_at timestamptz NOT NULL, "
            "doc jsonb NOT NULL)",
            ix(PROJECTS, pr, "portfolio_id, created_position"),
            ix(PROJECTS, pr, "status, created_position"),
            ix(PROJECTS, pr, "stage, created_position"),
            ix(PROJECTS, pr, "created_position"),
            f"CREATE TABLE IF NOT EXISTS {sj} (subject_id uuid PRIMARY KEY, kind text NOT NULL, "
            "project_id uuid, portfolio_id uuid, version int NOT NULL, doc jsonb NOT NULL)",
            ix(SUBJECTS, sj, "project_id"),
            ix(SUBJECTS, sj, "portfolio_id"),  # a board change reaches its portfolio's CRs
            f"CREATE TABLE IF NOT EXISTS {ib} (subject_id uuid NOT NULL, person text NOT NULL, "
            "kind text NOT NULL, project_id uuid, portfolio_id uuid, title text NOT NULL, "
            "due date, since timestamptz NOT NULL, escalated boolean NOT NULL DEFAULT false, "
            "PRIMARY KEY (subject_id, person, kind))",
            ix(INBOX, ib, "person, due"),
            ix(INBOX, ib, "portfolio_id, due"),
            f"CREATE TABLE IF NOT EXISTS {table(names, DELEGATIONS, suffix)} (delegation_id uuid "
            "PRIMARY KEY, delegator text NOT NULL, delegate text NOT NULL, starts timestamptz NOT "
            "NULL, ends timestamptz NOT NULL, portfolio_id uuid, project_id uuid, revoked boolean "
            "NOT NULL DEFAULT false)",
            ix(DELEGATIONS, table(names, DELEGATIONS, suffix), "delegate, delegator"),
        ]

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        batch = Batch()
        await _load(conn, names, suffix, changes, batch)
        apply_changes(batch, list(changes))
        await _write(conn, names, suffix, batch)

    def bulk(self, context: BulkContext) -> Batch:
        """State for a rebuild kept in memory: every document, written once at the end."""
        return Batch(bulk=True)

    async def apply_bulk(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        state: Batch,
        changes: Sequence[Change],
    ) -> list[tuple[Change, Exception]]:
        failed: list[tuple[Change, Exception]] = []
        apply_changes(state, changes, failed)
        return failed

    async def abort_bulk(self, state: Batch) -> None:
        """Nothing runs in the background: the documents are only in memory."""

    async def flush_bulk(
        self, conn: asyncpg.Connection, names: StoreNames, suffix: str, state: Batch
    ) -> None:
        state.dirty_portfolios.update(state.portfolios)
        state.dirty_projects.update(state.projects)
        state.dirty_subjects.update(state.subjects)
        async with conn.transaction():
            await _write(conn, names, suffix, state, fresh=True)


async def _load(
    conn: asyncpg.Connection,
    names: StoreNames,
    suffix: str,
    changes: Sequence[Change],
    batch: Batch,
) -> None:
    """Load the documents of every aggregate the batch touches or needs for inboxes.

    A board change reaches every project and change request of its portfolio, a role
    change every change request of its project (who votes and decides follows them)."""
    ids = {c.aggregate_id for c in changes}
    boards = {c.aggregate_id for c in changes if c.key == "Portfolio.BoardChanged"}
    roles = {c.aggregate_id for c in changes if c.key in ROLE_CHANGES}
    for r in await _fetch(conn, names, SUBJECTS, "subject_id", suffix, ids):
        batch.subjects[r[0]] = r[1]
    for key, related in (("portfolio_id", boards), ("project_id", roles)):
        for r in await _fetch(conn, names, SUBJECTS, "subject_id", suffix, related, by=key):
            batch.subjects.setdefault(r[0], r[1])
    project_ids = ids | {c.data["project_id"] for c in changes if "project_id" in c.data}
    project_ids |= {UUID(d["project_id"]) for d in batch.subjects.values() if d.get("project_id")}
    for r in await _fetch(conn, names, PROJECTS, "project_id", suffix, project_ids):
        batch.projects[r[0]] = r[1]
    for r in await _fetch(conn, names, PROJECTS, "project_id", suffix, boards, by="portfolio_id"):
        batch.projects.setdefault(r[0], r[1])
    portfolio_ids = ids | {c.data["portfolio_id"] for c in changes if "portfolio_id" in c.data}
    portfolio_ids |= {UUID(d["portfolio_id"]) for d in batch.projects.values()}
    for r in await _fetch(conn, names, PORTFOLIOS, "portfolio_id", suffix, portfolio_ids):
        batch.portfolios[r[0]] = r[1]


async def _fetch(
    conn: asyncpg.Connection,
    names: StoreNames,
    base: str,
    key: str,
    suffix: str,
    ids: set[UUID],
    *,
    by: str | None = None,
) -> list[asyncpg.Record]:
    """``(key, doc)`` of the rows whose ``by`` column (default: ``key``) is in ``ids``."""
    if not ids:
        return []
    return await conn.fetch(
        f"SELECT {key}, doc FROM {table(names, base, suffix)} WHERE {by or key} = ANY($1::uuid[])",
        list(ids),
    )


async def _write(
    conn: asyncpg.Connection, names: StoreNames, suffix: str, batch: Batch, *, fresh: bool = False
) -> None:
    """Upsert the changed documents and their inbox items; ``fresh`` tables (a rebuild's)
    take every document by COPY."""
    pf, pr = table(names, PORTFOLIOS, suffix), table(names, PROJECTS, suffix)
    sj, ib = table(names, SUBJECTS, suffix), table(names, INBOX, suffix)
    if fresh:
        await _copy_documents(conn, names, suffix, batch)
    elif batch.dirty_portfolios:
        await conn.executemany(
            f"INSERT INTO {pf} VALUES ($1, $2, $3, $4) ON CONFLICT (portfolio_id) DO UPDATE "
            "SET name = EXCLUDED.name, version = EXCLUDED.version, doc = EXCLUDED.doc",
            [
                (pid, d["name"], d["version"], d)
                for pid, d in batch.portfolios.items()
                if pid in batch.dirty_portfolios
            ],
        )
    if batch.dirty_projects and not fresh:
        cols = ", ".join(PROJECT_COLUMNS)
        values = ", ".join(f"${i}" for i in range(1, len(PROJECT_COLUMNS) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in PROJECT_COLUMNS[1:])
        await conn.executemany(
            f"INSERT INTO {pr} ({cols}) VALUES ({values}) "
            f"ON CONFLICT (project_id) DO UPDATE SET {updates}",
            [_project_row(pid, batch.projects[pid]) for pid in batch.dirty_projects],
        )
    if batch.dirty_subjects and not fresh:
        await conn.executemany(
            f"INSERT INTO {sj} VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (subject_id) "
            "DO UPDATE SET version = EXCLUDED.version, doc = EXCLUDED.doc",
            [_subject_row(sid, batch.subjects[sid]) for sid in batch.dirty_subjects],
        )
    await _write_delegations(conn, table(names, DELEGATIONS, suffix), batch)
    touched = list(batch.dirty_projects | batch.dirty_subjects)
    if touched:
        if not fresh:
            await conn.execute(f"DELETE FROM {ib} WHERE subject_id = ANY($1::uuid[])", touched)
        items = [item for sid in touched for item in inbox_items(batch, sid)]
        if items:
            await conn.copy_records_to_table(
                INBOX + suffix,
                records=items,
                columns=(
                    "subject_id",
                    "person",
                    "kind",
                    "project_id",
                    "portfolio_id",
                    "title",
                    "due",
                    "since",
                    "escalated",
                ),
                schema_name=names.schema,
            )


async def _copy_documents(
    conn: asyncpg.Connection, names: StoreNames, suffix: str, batch: Batch
) -> None:
    async def copy(base: str, records: list[tuple[Any, ...]], columns: Sequence[str]) -> None:
        if records:
            await conn.copy_records_to_table(
                base + suffix,
                records=records,
                columns=columns,
                schema_name=names.schema,
                timeout=3600.0,  # all of a large log's documents in one statement
            )

    await copy(
        PORTFOLIOS,
        [(pid, d["name"], d["version"], d) for pid, d in batch.portfolios.items()],
        ("portfolio_id", "name", "version", "doc"),
    )
    await copy(PROJECTS, [_project_row(p, d) for p, d in batch.projects.items()], PROJECT_COLUMNS)
    await copy(
        SUBJECTS,
        [_subject_row(s, d) for s, d in batch.subjects.items()],
        ("subject_id", "kind", "project_id", "portfolio_id", "version", "doc"),
    )


async def _write_delegations(conn: asyncpg.Connection, t: str, batch: Batch) -> None:
    rows = [r for r in batch.delegations.values() if len(r) > 1]
    revoked = [r[0] for r in batch.delegations.values() if len(r) == 1]
    if rows:
        await conn.executemany(
            f"INSERT INTO {t} VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            "ON CONFLICT (delegation_id) DO UPDATE SET revoked = EXCLUDED.revoked",
            rows,
        )
    if revoked:
        await conn.execute(
            f"UPDATE {t} SET revoked = true WHERE delegation_id = ANY($1::uuid[])", revoked
        )


def _project_row(pid: UUID, d: dict[str, Any]) -> tuple[Any, ...]:
    from datetime import datetime
    from decimal import Decimal

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


def _subject_row(sid: UUID, d: dict[str, Any]) -> tuple[Any, ...]:
    project = UUID(d["project_id"]) if d.get("project_id") else None
    portfolio = UUID(d["portfolio_id"]) if d.get("portfolio_id") else None
    return (sid, d["kind"], project, portfolio, d["version"], d)
