"""Read model ``requests``: change requests and sign-off requests, one row each
(``rm_subjects``: kind, project, portfolio, version, document). Folded from ChangeRequest
and SignOff events only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import index_name, table
from projections.folds.documents import Batch
from projections.folds.model import FoldedModel, copy_rows, fetch_docs

SUBJECTS = "rm_subjects"
COLUMNS = ("subject_id", "kind", "project_id", "portfolio_id", "version", "doc")


class Requests(FoldedModel):
    name = "requests"
    tables = (SUBJECTS,)
    # 5: a read model of its own (was part of "governance", version 4)
    version = 5
    aggregates = frozenset({"ChangeRequest", "SignOff"})

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        t = table(names, SUBJECTS, suffix)
        return [
            f"CREATE TABLE IF NOT EXISTS {t} (subject_id uuid PRIMARY KEY, kind text NOT NULL, "
            "project_id uuid, portfolio_id uuid, version int NOT NULL, doc jsonb NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {index_name(SUBJECTS, 'project_id', suffix)} "
            f"ON {t} (project_id)",
            f"CREATE INDEX IF NOT EXISTS {index_name(SUBJECTS, 'portfolio_id', suffix)} "
            f"ON {t} (portfolio_id)",
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
        for r in await fetch_docs(conn, table(names, SUBJECTS, suffix), "subject_id", ids):
            batch.subjects[r[0]] = r[1]

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
            rows = [row(s, d) for s, d in batch.subjects.items()]
            await copy_rows(conn, names, SUBJECTS, suffix, rows, COLUMNS)
        elif batch.dirty_subjects:
            await conn.executemany(
                f"INSERT INTO {table(names, SUBJECTS, suffix)} VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (subject_id) DO UPDATE SET version = EXCLUDED.version, "
                "doc = EXCLUDED.doc",
                [row(sid, batch.subjects[sid]) for sid in batch.dirty_subjects],
            )


def row(sid: UUID, d: dict[str, Any]) -> tuple[Any, ...]:
    project = UUID(d["project_id"]) if d.get("project_id") else None
    portfolio = UUID(d["portfolio_id"]) if d.get("portfolio_id") else None
    return (sid, d["kind"], project, portfolio, d["version"], d)
