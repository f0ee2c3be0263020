"""Rebuild a projection from position 0 into new tables, then switch atomically.

The old tables keep serving (and the live projector keeps them current) while the new
ones are built. The switch locks the projection's tracking row (which the live
projector also locks for each batch), applies whatever arrived meanwhile, swaps the
tables by renaming and records the new position, in one transaction.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from eventstore.database import Store
from eventstore.recorder import select_notifications_on
from projections.base import Projection
from projections.changes import to_change
from projections.tracking import lock_position, set_position

Progress = Callable[[int, int], None]


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
    """Rebuild several projections in one pass over the log (each event decoded once),
    then switch all of them in one transaction."""
    suffix = "__rb" + secrets.token_hex(3)
    started = time.perf_counter()
    async with store.pool.acquire() as conn:
        for projection in projections:
            await _drop_leftovers(conn, store, projection)
            for statement in projection.ddl(store.names, suffix):
                await conn.execute(statement)
        head = await store.events.max_notification_id() or 0
        position, applied = await _catch_up(
            conn, store, projections, suffix, 0, head, batch_size, progress
        )
        for projection in projections:  # fresh tables have no statistics for the planner
            for base in projection.tables:
                await conn.execute(f"ANALYZE {store.names.q(base + suffix)}")
        async with conn.transaction():
            for projection in sorted(projections, key=lambda p: p.name):
                await lock_position(conn, store.names, projection.name)
            head = await store.events.max_notification_id() or 0
            position, more = await _catch_up(
                conn, store, projections, suffix, position, head, batch_size, None, in_tx=True
            )
            applied += more
            for projection in projections:
                await _swap(conn, store, projection, suffix)
                await set_position(conn, store.names, projection.name, position)
    if progress:
        progress(position, position)
    name = "+".join(p.name for p in projections)
    return RebuildResult(name, applied, position, time.perf_counter() - started)


async def _catch_up(
    conn: asyncpg.Connection,
    store: Store,
    projections: Sequence[Projection],
    suffix: str,
    position: int,
    head: int,
    batch_size: int,
    progress: Progress | None,
    *,
    in_tx: bool = False,
) -> tuple[int, int]:
    applied = 0
    while True:
        notes = await select_notifications_on(conn, store.names, position, batch_size)
        if not notes:
            return position, applied
        changes = [to_change(n) for n in notes]
        async with contextlib.AsyncExitStack() as stack:
            if not in_tx:
                await stack.enter_async_context(conn.transaction())
            for projection in projections:
                await projection.apply(conn, store.names, changes, suffix)
        position, applied = notes[-1].id, applied + len(notes)
        if progress:
            progress(position, max(head, position))


async def _swap(
    conn: asyncpg.Connection, store: Store, projection: Projection, suffix: str
) -> None:
    for base in projection.tables:
        await conn.execute(f"DROP TABLE IF EXISTS {store.names.q(base)}")
        new = store.names.q(base + suffix)
        await conn.execute(f'ALTER TABLE {new} RENAME TO "{base}"')


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
