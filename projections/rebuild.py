"""Rebuild a projection from position 0 into new tables, then switch atomically.

The old tables keep serving (and the live projector keeps them current) while the new
ones are built. The switch locks the projection's tracking row (which the live
projector also locks for each batch), applies whatever arrived meanwhile, swaps the
tables by renaming and records the new position, in one transaction.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from eventstore.database import Store
from eventstore.recorder import select_notifications_on
from eventstore.schema import quote_ident
from projections.base import BulkProjection, Projection, RangeProjection
from projections.changes import to_change
from projections.tracking import lock_position, set_position

Progress = Callable[[int, int], None]
RANGE = 50_000  # positions per statement for projections computed in SQL


@dataclass(frozen=True)
class RebuildResult:
    projection: str
    events: int
    position: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def rebuild(
    store: Store,
    projection: Projection,
    *,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> RebuildResult:
    """Rebuild one projection from scratch; returns how many events it applied."""
    return await rebuild_many(store, [projection], batch_size=batch_size, progress=progress)


async def rebuild_many(
    store: Store,
    projections: Sequence[Projection],
    *,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> RebuildResult:
    """Rebuild several projections side by side (each on its own connection, so SQL-side
    work runs on the database's core while Python applies the rest), then switch all of
    them in one transaction."""
    suffix = "__rb" + secrets.token_hex(3)
    started = time.perf_counter()
    # Tables first, secondary indexes after the bulk load: building an index once is
    # much cheaper than maintaining it row by row.
    statements = [st for p in projections for st in p.ddl(store.names, suffix)]
    indexes = [st for st in statements if st.lstrip().upper().startswith("CREATE INDEX")]
    async with store.pool.acquire() as conn:
        for projection in projections:
            await _drop_leftovers(conn, store, projection)
        for statement in statements:
            if statement not in indexes:
                await conn.execute(statement)
    head = await store.events.max_notification_id() or 0
    reached: dict[str, int] = {p.name: 0 for p in projections}

    def report(name: str, position: int) -> None:
        reached[name] = position
        if progress:
            progress(min(reached.values()), head)

    results = await asyncio.gather(
        *(_bulk(store, p, suffix, head, batch_size, report) for p in projections)
    )
    applied = min(results)
    position = head
    async with store.pool.acquire() as conn:
        for statement in indexes:
            await conn.execute(statement)
        for projection in projections:  # fresh tables have no statistics for the planner
            for base in projection.tables:
                await conn.execute(f"ANALYZE {store.names.q(base + suffix)}")
        async with conn.transaction():
            for projection in sorted(projections, key=lambda p: p.name):
                await lock_position(conn, store.names, projection.name)
            position, more = await _catch_up(conn, store, projections, suffix, position, batch_size)
            applied += more
            for projection in projections:
                await _swap(conn, store, projection, suffix)
                await set_position(conn, store.names, projection.name, position)
    if progress:
        progress(position, position)
    name = "+".join(p.name for p in projections)
    return RebuildResult(name, applied, position, time.perf_counter() - started)


async def _bulk(
    store: Store,
    projection: Projection,
    suffix: str,
    head: int,
    batch_size: int,
    report: Callable[[str, int], None],
) -> int:
    """Apply every event up to ``head`` into the new tables; returns how many."""
    async with store.pool.acquire() as conn:
        if isinstance(projection, RangeProjection):
            return await _bulk_ranges(conn, store, projection, suffix, head, report)
        return await _bulk_changes(conn, store, projection, suffix, head, batch_size, report)


async def _bulk_ranges(
    conn: asyncpg.Connection,
    store: Store,
    projection: RangeProjection,
    suffix: str,
    head: int,
    report: Callable[[str, int], None],
) -> int:
    """A projection computed in SQL: position ranges, nothing fetched into Python."""
    position = applied = 0
    while position < head:
        upto = min(position + RANGE, head)
        async with conn.transaction():
            applied += await projection.apply_range(conn, store.names, position, upto, suffix)
        position = upto
        report(projection.name, position)
    return applied


async def _bulk_changes(
    conn: asyncpg.Connection,
    store: Store,
    projection: Projection,
    suffix: str,
    head: int,
    batch_size: int,
    report: Callable[[str, int], None],
) -> int:
    """A projection applied in Python; with ``bulk()`` its state stays in memory and is
    written once at the end, else each batch is applied in a transaction."""
    state = projection.bulk() if isinstance(projection, BulkProjection) else None
    position = applied = 0
    while position < head:
        notes = await select_notifications_on(conn, store.names, position, batch_size, upto=head)
        if not notes:
            break
        changes = [to_change(n) for n in notes]
        if state is not None:
            projection.apply_bulk(state, changes)  # type: ignore[union-attr]
        else:
            async with conn.transaction():
                await projection.apply(conn, store.names, changes, suffix)
        position, applied = notes[-1].id, applied + len(notes)
        report(projection.name, position)
    if state is not None:
        async with conn.transaction():
            await projection.flush_bulk(conn, store.names, suffix, state)  # type: ignore[union-attr]
    return applied


async def _catch_up(
    conn: asyncpg.Connection,
    store: Store,
    projections: Sequence[Projection],
    suffix: str,
    position: int,
    batch_size: int,
) -> tuple[int, int]:
    """Inside the switch transaction: what arrived since the bulk phase, for everyone."""
    applied = 0
    while True:
        notes = await select_notifications_on(conn, store.names, position, batch_size)
        if not notes:
            return position, applied
        changes = [to_change(n) for n in notes]
        for projection in projections:
            await projection.apply(conn, store.names, changes, suffix)
        position, applied = notes[-1].id, applied + len(notes)


async def _swap(
    conn: asyncpg.Connection, store: Store, projection: Projection, suffix: str
) -> None:
    for base in projection.tables:
        await conn.execute(f"DROP TABLE IF EXISTS {store.names.q(base)}")
        new = store.names.q(base + suffix)
        await conn.execute(f'ALTER TABLE {new} RENAME TO "{base}"')
    # Give the indexes their usual names, so start-up's CREATE INDEX IF NOT EXISTS
    # finds them instead of building a second set.
    built = _index_names(projection.ddl(store.names, suffix))
    usual = _index_names(projection.ddl(store.names, ""))
    for name, target in zip(built, usual, strict=True):
        await conn.execute(
            f"ALTER INDEX IF EXISTS {quote_ident(store.names.schema)}.{name} RENAME TO {target}"
        )


_INDEX = re.compile(r"CREATE INDEX IF NOT EXISTS (\S+) ON")


def _index_names(statements: list[str]) -> list[str]:
    return [m.group(1) for st in statements if (m := _INDEX.match(st.strip()))]


async def _drop_leftovers(conn: asyncpg.Connection, store: Store, projection: Projection) -> None:
    """Tables of an earlier rebuild that died before its switch."""
    for base in projection.tables:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2",
            store.names.schema,
            base + "\\_\\_rb%",
        )
        for r in rows:
            await conn.execute(f"DROP TABLE IF EXISTS {store.names.q(r[0])}")
