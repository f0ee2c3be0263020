"""What a read model of folded documents does: load the documents a batch touches from
its own tables, fold the batch's events into them, write back the changed ones.

A rebuild of several such read models in one pass folds each batch once
(``SharedFold``, kept in the rebuild's ``BulkContext.shared``), and each read model then
writes its part of the result; rebuilt alone, a read model folds by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import BulkContext, table
from projections.folds import aggregate_of, apply_changes
from projections.folds.documents import Batch

Failures = list[tuple[Change, Exception]]


class SharedFold:
    """One in-memory fold of every document for a rebuild: each batch of changes is
    applied once, however many read models ask (they are handed the same batch)."""

    def __init__(self) -> None:
        self.batch = Batch(bulk=True)
        self._last: Sequence[Change] | None = None
        self._failed: Failures = []

    def apply(self, changes: Sequence[Change]) -> Failures:
        """The changes that failed (every read model of them sets them aside)."""
        if changes is not self._last:
            self._failed = []
            apply_changes(self.batch, changes, self._failed)
            self._last = changes
        return self._failed


class FoldedModel:
    """Base of a read model that keeps folded documents. Subclasses set ``name``,
    ``tables``, ``version``, ``retired``, ``aggregates`` (whose events they fold), and
    define ``ddl``, ``load`` (the documents a batch needs, into a Batch) and ``write``
    (the changed documents, or every one of them on a rebuild's fresh tables)."""

    name: str
    tables: tuple[str, ...]
    version: int
    retired: tuple[str, ...] = ()
    aggregates: frozenset[str]

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        raise NotImplementedError

    async def load(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        changes: Sequence[Change],
        batch: Batch,
    ) -> None:
        raise NotImplementedError

    async def write(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        batch: Batch,
        *,
        fresh: bool = False,
    ) -> None:
        raise NotImplementedError

    def mine(self, changes: Sequence[Change]) -> list[Change]:
        return [c for c in changes if aggregate_of(c) in self.aggregates]

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        mine = self.mine(changes)
        if not mine:
            return
        batch = Batch()
        await self.load(conn, names, suffix, mine, batch)
        apply_changes(batch, mine)
        await self.write(conn, names, suffix, batch)

    # --- rebuilds (projections.engine.rebuild) -----------------------------------------

    def bulk(self, context: BulkContext) -> SharedFold:
        fold = context.shared.get("folds")
        if not isinstance(fold, SharedFold):
            fold = context.shared["folds"] = SharedFold()
        return fold

    async def apply_bulk(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        state: SharedFold,
        changes: Sequence[Change],
    ) -> Failures:
        return [(c, e) for c, e in state.apply(changes) if aggregate_of(c) in self.aggregates]

    async def abort_bulk(self, state: SharedFold) -> None:
        """Nothing runs in the background: the documents are only in memory."""

    async def flush_bulk(
        self, conn: asyncpg.Connection, names: StoreNames, suffix: str, state: SharedFold
    ) -> None:
        async with conn.transaction():
            await self.write(conn, names, suffix, state.batch, fresh=True)


DocKind = Literal["portfolios", "projects", "subjects"]


class DocumentTable(FoldedModel):
    """A folded read model kept in one table, one row per document: the documents of
    ``kind`` in a Batch, keyed by the table's first column (``columns[0]``), each row
    made by ``row`` (the document itself and the typed columns queries filter by).
    Subclasses declare ``name``, ``version``, ``aggregates``, ``table_name``,
    ``columns``, ``kind``, ``row`` and ``ddl``."""

    table_name: str
    columns: tuple[str, ...]
    kind: DocKind

    @property
    def tables(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.table_name,)

    def row(self, object_id: UUID, doc: dict[str, Any]) -> tuple[Any, ...]:
        raise NotImplementedError

    async def load(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        changes: Sequence[Change],
        batch: Batch,
    ) -> None:
        docs: dict[UUID, Any] = getattr(batch, self.kind)
        ids = {c.aggregate_id for c in changes}
        t = table(names, self.table_name, suffix)
        for r in await fetch_docs(conn, t, self.columns[0], ids):
            docs[r[0]] = r[1]

    async def write(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        batch: Batch,
        *,
        fresh: bool = False,
    ) -> None:
        docs: dict[UUID, Any] = getattr(batch, self.kind)
        dirty: set[UUID] = getattr(batch, f"dirty_{self.kind}")
        rows = [self.row(i, d) for i, d in docs.items() if fresh or i in dirty]
        if fresh:
            await copy_rows(conn, names, self.table_name, suffix, rows, self.columns)
        elif rows:
            key, cols = self.columns[0], ", ".join(self.columns)
            values = ", ".join(f"${i}" for i in range(1, len(self.columns) + 1))
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self.columns[1:])
            await conn.executemany(
                f"INSERT INTO {table(names, self.table_name, suffix)} ({cols}) "
                f"VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {updates}",
                rows,
            )


async def fetch_docs(
    conn: asyncpg.Connection,
    table_name: str,
    key: str,
    ids: set[Any],
    *,
    by: str | None = None,
    columns: str = "doc",
) -> list[asyncpg.Record]:
    """``(key, <columns>)`` of the rows whose ``by`` column (default: ``key``) is in
    ``ids``."""
    if not ids:
        return []
    return await conn.fetch(
        f"SELECT {key}, {columns} FROM {table_name} WHERE {by or key} = ANY($1::uuid[])",
        list(ids),
    )


async def copy_rows(
    conn: asyncpg.Connection,
    names: StoreNames,
    base: str,
    suffix: str,
    records: list[tuple[Any, ...]],
    columns: Sequence[str],
) -> None:
    """Rows into a rebuild's fresh table, by COPY."""
    if records:
        await conn.copy_records_to_table(
            base + suffix,
            records=records,
            columns=columns,
            schema_name=names.schema,
            timeout=3600.0,  # all of a large log's documents in one statement
        )
