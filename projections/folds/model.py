"""What a read model of folded documents does: load the documents a batch touches from
its own tables, fold the batch's events into them, write back the changed ones.

A rebuild of several such read models in one pass folds each batch once
(``SharedFold``, kept in the rebuild's ``BulkContext.shared``), and each read model then
writes its part of the result; rebuilt alone, a read model folds by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import BulkContext
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
