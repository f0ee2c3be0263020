"""Read model ``portfolios``: one row per portfolio (``rm_portfolios``) with its document
(name, objectives, envelope, board, template). Folded from Portfolio events only; the
portfolio view (``projections.portfolios.queries``) adds up the ``projects`` and ``inbox``
read models' rows at read time."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import table
from projections.folds.documents import Batch
from projections.folds.model import FoldedModel, copy_rows, fetch_docs

PORTFOLIOS = "rm_portfolios"


class Portfolios(FoldedModel):
    name = "portfolios"
    tables = (PORTFOLIOS,)
    # 5: a read model of its own (was part of "governance", version 4)
    version = 5
    aggregates = frozenset({"Portfolio"})

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table(names, PORTFOLIOS, suffix)} (portfolio_id uuid "
            "PRIMARY KEY, name text NOT NULL, version int NOT NULL, doc jsonb NOT NULL)"
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
        for r in await fetch_docs(conn, table(names, PORTFOLIOS, suffix), "portfolio_id", ids):
            batch.portfolios[r[0]] = r[1]

    async def write(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        batch: Batch,
        *,
        fresh: bool = False,
    ) -> None:
        rows = [
            (pid, d["name"], d["version"], d)
            for pid, d in batch.portfolios.items()
            if fresh or pid in batch.dirty_portfolios
        ]
        if fresh:
            columns = ("portfolio_id", "name", "version", "doc")
            await copy_rows(conn, names, PORTFOLIOS, suffix, rows, columns)
        elif rows:
            await conn.executemany(
                f"INSERT INTO {table(names, PORTFOLIOS, suffix)} VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (portfolio_id) DO UPDATE SET name = EXCLUDED.name, "
                "version = EXCLUDED.version, doc = EXCLUDED.doc",
                rows,
            )
