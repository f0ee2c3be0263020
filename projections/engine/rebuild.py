"""Rebuild projections from position 0 into new tables, then switch atomically.

The old tables keep serving (and the live projector keeps them current) while the new
ones are built. One pass reads the log for every projection being rebuilt, fetching the
next batch while the current one is applied and decoding each event once; projections
that keep their state in memory (``BulkProjection``) write it at the end, then the
secondary indexes are built. The switch locks the projections' tracking rows (which the
live projector also locks for each batch), applies whatever arrived meanwhile, swaps
the tables by renaming and records the new position, in one transaction. One rebuild
per projection runs at a time (an advisory lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from eventstore.database import Store
from eventstore.errors import CONNECTION_ERRORS
from eventstore.recorder import select_event_rows_on
from eventstore.schema import quote_ident
from projections.engine.events import change_of
from projections.engine.read_model import BulkContext, BulkProjection, Projection, lock_key
from projections.engine.set_aside import (
    Failure,
    announce,
    apply_or_isolate,
    error_text,
    replace,
    rows_of,
)
from projections.engine.tracking import lock_position, set_position

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildResult:
    projection: str
    events: int
    position: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step

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
    on_step: Callable[[str], None] | None = None,
) -> RebuildResult:
    """Rebuild several projections in one pass over the log (each event read and decoded
    once, each projection writing on its own connection), then switch all of them in one
    transaction. ``on_step`` hears what it is doing: ``reading the log``, ``writing
    tables and indexes``, ``switching``."""
    step = on_step or (lambda _: None)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    # one each, the reader, a COPY writer, an index builder, and the rebuild lock's
    needed = len(projections) + 4
    if store.pool.get_max_size() < needed:
        raise ValueError(f"a rebuild of {len(projections)} projection(s) needs a pool of {needed}")
    async with store.pool.acquire() as guard:
        await _lock_rebuilds(guard, store, projections)
        try:
            return await _rebuild(store, projections, batch_size, progress, step)
        finally:
            with contextlib.suppress(*CONNECTION_ERRORS):  # a lost session holds no locks
                await guard.execute(
                    "SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) k",
                    [_rebuild_key(store, p) for p in projections],
                )


class RebuildRunning(RuntimeError):
    """Another process is rebuilding one of these projections right now."""


class IncompleteRebuild(RuntimeError):
    """The new tables were not built from every event up to the position they would
    record: nothing was switched."""


async def _refuse_short(
    store: Store, projections: Sequence[Projection], head: int, applied: int
) -> None:
    """Before the switch: the pass must have gone through every event up to ``head``
    (ids may have gaps, so count them), or its tables would serve a shorter log than the
    position they record. Refused, the new tables are dropped; the old ones stay."""
    async with store.pool.acquire() as conn:
        expected = await conn.fetchval(
            f"SELECT count(*) FROM {store.names.q(store.names.events)} WHERE notification_id <= $1",
            head,
        )
        if applied == expected:
            return
        for projection in projections:
            await _drop_leftovers(conn, store, projection)
    raise IncompleteRebuild(
        f"the rebuild went through {applied:,} of the {expected:,} events up to position "
        f"{head:,}; nothing was switched"
    )


def _rebuild_key(store: Store, projection: Projection) -> int:
    return lock_key(store.names, f"rebuild:{projection.name}")


async def _lock_rebuilds(
    conn: asyncpg.Connection, store: Store, projections: Sequence[Projection]
) -> None:
    """One rebuild per projection at a time, across processes: a second one would drop
    the first one's new tables as leftovers."""
    held: list[int] = []
    for projection in projections:
        key = _rebuild_key(store, projection)
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            for k in held:
                await conn.execute("SELECT pg_advisory_unlock($1)", k)
            raise RebuildRunning(f"a rebuild of {projection.name} is already running")
        held.append(key)


async def _rebuild(
    store: Store,
    projections: Sequence[Projection],
    batch_size: int,
    progress: Progress | None,
    step: Callable[[str], None],
) -> RebuildResult:
    suffix = "__rb" + secrets.token_hex(3)
    started = time.perf_counter()
    # Tables first, secondary indexes after the bulk load: building an index once is
    # much cheaper than maintaining it row by row.
    async with store.pool.acquire() as conn:
        for projection in projections:
            await _drop_leftovers(conn, store, projection)
            for statement in projection.ddl(store.names, suffix):
                if not is_index(statement):
                    await conn.execute(statement)
    head = await store.events.max_notification_id() or 0
    phases = {"tables": time.perf_counter() - started}
    step("reading the log")
    aside: dict[str, list[Failure]] = {p.name: [] for p in projections}  # set aside
    applied = await _one_pass(
        store, projections, suffix, head, batch_size, progress, phases, step, aside
    )
    await _refuse_short(store, projections, head, applied)
    step("switching")
    mark = time.perf_counter()
    position = head
    async with store.pool.acquire() as conn, conn.transaction():
        for projection in sorted(projections, key=lambda p: p.name):
            await lock_position(conn, store.names, projection.name)
        position, more = await _catch_up(
            conn, store, projections, suffix, position, batch_size, aside
        )
        applied += more
        for projection in projections:
            await _swap(conn, store, projection, suffix)
            await set_position(conn, store.names, projection.name, position)
            await replace(conn, store.names, projection.name, aside[projection.name])
    for projection_name, failed in aside.items():
        for row, exc in failed:
            announce(projection_name, row, error_text(exc))
    phases["switch"] = time.perf_counter() - mark
    if progress:
        progress(position, position)
    name = "+".join(p.name for p in projections)
    return RebuildResult(name, applied, position, time.perf_counter() - started, phases)


async def build_index(pool: asyncpg.Pool, statement: str, indexing: asyncio.Semaphore) -> None:
    """Build one index of a rebuild on its own connection, once ``indexing`` lets it."""
    async with indexing, pool.acquire() as c, c.transaction():
        # One core per index: INDEX_WORKERS indexes side by side use the database's
        # cores better than each build splitting itself over them.
        await c.execute("SET LOCAL max_parallel_maintenance_workers = 0")
        await c.execute(statement, timeout=LONG)


def is_index(statement: str) -> bool:
    """Whether a DDL statement builds an index (a rebuild runs those after the load)."""
    return statement.lstrip().upper().startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))


async def _one_pass(
    store: Store,
    projections: Sequence[Projection],
    suffix: str,
    head: int,
    batch_size: int,
    progress: Progress | None,
    phases: dict[str, float],
    step: Callable[[str], None],
    aside: dict[str, list[Failure]],
) -> int:
    """Every event up to ``head`` into the new tables, then their indexes; returns how
    many events. The next batch is fetched while the current one is applied. Events a
    projection cannot apply go to ``aside``, and the rebuild goes on."""
    names = store.names
    mark = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(_collector_paused())
        conns = [await stack.enter_async_context(store.pool.acquire()) for _ in projections]
        context = BulkContext(head, store.pool)
        states = [p.bulk(context) if isinstance(p, BulkProjection) else None for p in projections]

        def fetch(after: int) -> asyncio.Task[list[asyncpg.Record]]:
            return asyncio.create_task(
                select_event_rows_on(reader, names, after, batch_size, upto=head)
            )

        applied = 0
        reader = await store.pool.acquire()
        pending: asyncio.Task[list[asyncpg.Record]] | None = fetch(0) if head else None
        try:
            while pending is not None:
                rows = await pending
                pending = None
                if not rows:
                    break
                position = rows[-1][0]
                if position < head:
                    pending = fetch(position)
                changes = [change_of(*r) for r in rows]
                for projection, conn, state in zip(projections, conns, states, strict=True):
                    if state is not None:
                        captured = await projection.apply_bulk(conn, names, suffix, state, changes)  # type: ignore[attr-defined]
                        aside[projection.name] += rows_of(rows, captured)
                    else:
                        aside[projection.name] += await apply_or_isolate(
                            conn, names, projection, rows, changes, suffix
                        )
                applied += len(rows)
                if progress:
                    progress(position, head)
        except BaseException:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            for projection, state in zip(projections, states, strict=True):
                if state is not None:
                    await projection.abort_bulk(state)  # type: ignore[attr-defined]
            raise
        finally:
            await store.pool.release(reader)
        # Each projection writes what it kept, then builds its indexes (two at a time over
        # the whole rebuild: the database's cores), so one projection's indexes build while
        # another still writes.
        phases["pass"] = time.perf_counter() - mark
        step("writing tables and indexes")
        mark = time.perf_counter()
        indexing = asyncio.Semaphore(INDEX_WORKERS)
        await _all_or_none(
            _finish(store, p, conn, state, suffix, indexing, phases)
            for p, conn, state in zip(projections, conns, states, strict=True)
        )
    phases["write_and_index"] = time.perf_counter() - mark
    return applied


INDEX_WORKERS = 2
# Index builds, ANALYZE and the final writes of a large log may take longer than the
# pool's per-statement timeout meant for requests.
LONG = 3600.0


async def _all_or_none(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run side by side; if one fails, stop the others (and wait for them), then raise
    the first error itself rather than an exception group."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """A rebuild allocates millions of objects and makes no reference cycles worth
    collecting; the cyclic collector's passes over them cost a third of the time."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


async def _finish(
    store: Store,
    projection: Projection,
    conn: asyncpg.Connection,
    state: Any,
    suffix: str,
    indexing: asyncio.Semaphore,
    phases: dict[str, float],
) -> None:
    mark = time.perf_counter()
    if state is not None:
        await projection.flush_bulk(conn, store.names, suffix, state)  # type: ignore[attr-defined]
    phases[f"{projection.name}_write"] = time.perf_counter() - mark

    await _all_or_none(
        build_index(store.pool, st, indexing)
        for st in projection.ddl(store.names, suffix)
        if is_index(st)
    )
    for base in projection.tables:  # fresh tables have no statistics for the planner
        await conn.execute(f"ANALYZE {store.names.q(base + suffix)}", timeout=LONG)
    phases[f"{projection.name}_done"] = time.perf_counter() - mark


async def _catch_up(
    conn: asyncpg.Connection,
    store: Store,
    projections: Sequence[Projection],
    suffix: str,
    position: int,
    batch_size: int,
    aside: dict[str, list[Failure]],
) -> tuple[int, int]:
    """Inside the switch transaction: what arrived since the bulk phase, for everyone."""
    applied = 0
    while True:
        rows = await select_event_rows_on(conn, store.names, position, batch_size)
        if not rows:
            return position, applied
        changes = [change_of(*r) for r in rows]
        for p in projections:
            aside[p.name] += await apply_or_isolate(conn, store.names, p, rows, changes, suffix)
        position, applied = rows[-1][0], applied + len(rows)


async def _swap(
    conn: asyncpg.Connection, store: Store, projection: Projection, suffix: str
) -> None:
    schema = quote_ident(store.names.schema)
    for base in projection.tables:
        await conn.execute(f"DROP TABLE IF EXISTS {store.names.q(base)}")
        new = store.names.q(base + suffix)
        await conn.execute(f'ALTER TABLE {new} RENAME TO "{base}"')
        # and its primary key the name a table created as ``base`` would give it
        pkey = await conn.fetchval(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = $1::regclass AND i.indisprimary",
            store.names.q(base),
        )
        if pkey is not None and pkey != f"{base}_pkey":
            await conn.execute(
                f"ALTER INDEX {schema}.{quote_ident(pkey)} RENAME TO {quote_ident(base + '_pkey')}"
            )
    # Give the indexes their usual names, so start-up's CREATE INDEX IF NOT EXISTS
    # finds them instead of building a second set.
    built = _index_names(projection.ddl(store.names, suffix))
    usual = _index_names(projection.ddl(store.names, ""))
    for name, target in zip(built, usual, strict=True):
        await conn.execute(f"ALTER INDEX IF EXISTS {schema}.{name} RENAME TO {target}")


_INDEX = re.compile(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\S+) ON")


def _index_names(statements: list[str]) -> list[str]:
    return [m.group(1) for st in statements if (m := _INDEX.match(st.strip()))]


async def _drop_leftovers(conn: asyncpg.Connection, store: Store, projection: Projection) -> None:
    """Tables of an earlier rebuild that died before its switch (also of the tables a
    projection had in earlier versions)."""
    for base in (*projection.tables, *projection.retired):
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2",
            store.names.schema,
            base + "\\_\\_rb%",
        )
        for r in rows:
            await conn.execute(f"DROP TABLE IF EXISTS {store.names.q(r[0])}")
