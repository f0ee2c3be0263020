"""The projector: applies new events to a projection's tables, exactly once.

Each batch runs in one transaction that locks the projection's tracking row, applies
the events after the tracked position and records the new position, so a crash at any
point either keeps the whole batch or none of it. A session-level advisory lock keeps
one active worker per projection across processes; a standby takes over when the
active worker's connection goes away. Workers wake on NOTIFY and also poll.

A batch that fails (for a reason other than a lost connection) is retried a few times,
backing off; then it is applied event by event and each event that still fails is set
aside (``projections.engine.set_aside``) so that the projection moves on. Each projection
advances on its own: one that fails never holds up the others.

While every projection is healthy they advance together (``apply_together``): one
transaction locks their tracking rows (skipping any another transaction holds, such as
a rebuild's switch-over), reads and decodes the new events once, applies them to each
and records each position, where a batch per projection read and decoded the same
events and committed once per projection (eight times). The first failure rolls the
whole batch back, and the projections then advance one by one as above, which finds
the one that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence

import asyncpg

from eventstore.database import Store
from eventstore.errors import UNREACHABLE
from eventstore.recorder import select_event_rows_on
from projections.engine.events import change_of
from projections.engine.read_model import Projection, lock_key
from projections.engine.set_aside import set_aside_batch
from projections.engine.tracking import lock_position, set_position

log = logging.getLogger(__name__)


async def apply_batch(
    conn: asyncpg.Connection, store: Store, projection: Projection, limit: int = 1000
) -> int:
    """Apply up to ``limit`` events after the tracked position; returns how many."""
    async with conn.transaction():
        position = await lock_position(conn, store.names, projection.name)
        rows = await select_event_rows_on(conn, store.names, position, limit)
        if not rows:
            return 0
        changes = [change_of(*r) for r in rows]
        await projection.apply(conn, store.names, changes, "")
        await set_position(conn, store.names, projection.name, rows[-1][0])
        return len(rows)


async def apply_together(
    conn: asyncpg.Connection,
    store: Store,
    projections: Sequence[Projection],
    limit: int = 1000,
    *,
    make_rows: bool = True,
) -> tuple[int, set[str]]:
    """Apply up to ``limit`` new events to each projection in one transaction: the
    events after the earliest of their positions, each projection getting those after
    its own. Projections whose tracking row another transaction holds are left out.
    Returns the events applied (summed) and the names of the projections it served
    (not those a full batch ended before: they have more to take on their own).
    ``make_rows=False`` when every tracking row is known to exist: the ``INSERT`` that
    makes missing ones would wait for a transaction updating one of them."""
    t = store.names.q(store.names.tracking)
    wanted = [p.name for p in projections]
    async with conn.transaction():
        if make_rows:
            await conn.execute(
                f"INSERT INTO {t} (application_name, notification_id) "
                "SELECT unnest($1::text[]), 0 ON CONFLICT (application_name) DO NOTHING",
                wanted,
            )
        found = await conn.fetch(
            f"SELECT application_name, notification_id FROM {t} "
            "WHERE application_name = ANY($1::text[]) FOR UPDATE SKIP LOCKED",
            wanted,
        )
        at: dict[str, int] = {r[0]: r[1] for r in found}
        mine = [p for p in projections if p.name in at]
        if not mine:
            return 0, set()
        start = min(at[p.name] for p in mine)
        rows = await select_event_rows_on(conn, store.names, start, limit)
        if not rows:
            return 0, set(at)
        changes = [change_of(*r) for r in rows]
        moved = 0
        for projection in mine:
            after = at[projection.name]
            todo = changes if after == start else [c for c in changes if c.position > after]
            if todo:
                await projection.apply(conn, store.names, todo, "")
                moved += len(todo)
        last = rows[-1][0]
        await conn.execute(
            f"UPDATE {t} SET notification_id = $2 "
            "WHERE application_name = ANY($1::text[]) AND notification_id < $2",
            list(at),
            last,
        )
        # A read model already at or past the end of a full batch got nothing from it
        # (one far behind set the batch's start): not served, it advances on its own,
        # else a read model refilled from 0 would hold the others back until it caught up.
        full = len(rows) >= limit
        return moved, {name for name, position in at.items() if not (full and position >= last)}


class Projector:
    """Keeps a set of projections current while it holds their advisory locks."""

    def __init__(
        self,
        store: Store,
        projections: Sequence[Projection],
        *,
        batch_size: int = 1000,
        poll_interval: float = 1.0,
        attempts: int = 3,
        retry_delay: float = 1.0,
    ) -> None:
        self.store = store
        self.projections = list(projections)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.attempts = attempts  # failed tries of a batch before it is taken apart
        self.retry_delay = retry_delay  # first wait after a failure; doubles, up to 60 s
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._rows_made = False  # every tracking row exists (made by a joint batch)
        self.active = False
        self.backend_pid: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set: wait for the locks, then follow the log."""
        while not stop.is_set():
            try:
                await self._run_connected(stop)
            except UNREACHABLE as exc:
                self.active = False
                log.warning("projector lost its connection (%s); retrying", exc)
                await _sleep_or_stop(stop, self.poll_interval)
            except Exception:
                # Not a projection's batch (those are handled in ``advance``): log it and
                # start again rather than end the projector silently.
                self.active = False
                log.exception("projector failed; retrying")
                await _sleep_or_stop(stop, max(self.poll_interval, 5.0))

    async def _run_connected(self, stop: asyncio.Event) -> None:
        async with self.store.pool.acquire() as conn:
            self.backend_pid = conn.get_server_pid()
            await conn.add_listener(self.store.names.channel, self._notified)
            try:
                await self._hold_locks(conn, stop)
                while not stop.is_set():
                    self._wake.clear()  # before reading: a NOTIFY from now on wakes us
                    moved = await self.catch_up(conn)
                    if not moved:
                        await _wait_any(stop, self._wake, self.poll_interval)
            finally:
                self.active = False
                if conn.is_closed():
                    # Lost (say, terminated by the server): finish its clean-up, which
                    # drops the listener that remove_listener skips on a closed connection.
                    conn.terminate()
                with contextlib.suppress(Exception):
                    await conn.remove_listener(self.store.names.channel, self._notified)
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock_all()")

    async def _hold_locks(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        """Take every projection's advisory lock, or none: two workers each holding some
        of the locks would otherwise wait for each other forever."""
        keys = [lock_key(self.store.names, p.name) for p in self.projections]
        while not stop.is_set():
            held = []
            for key in keys:
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                    break
                held.append(key)
            if len(held) == len(keys):
                self.active = True
                return
            for key in held:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)
            await _sleep_or_stop(stop, self.poll_interval * random.uniform(0.5, 1.5))

    async def catch_up(self, conn: asyncpg.Connection) -> int:
        """Apply one batch to every projection; returns the number of events applied
        (summed over the projections)."""
        total, done = 0, set[str]()
        healthy = [p for p in self.projections if p.name not in self._failures]
        if len(healthy) > 1:
            try:
                total, done = await apply_together(
                    conn, self.store, healthy, self.batch_size, make_rows=not self._rows_made
                )
                self._rows_made = True
            except UNREACHABLE:
                raise
            except Exception as exc:  # one of them fails: find it, one by one
                log.info("projections failed together (%s); applying one by one", exc)
        for projection in self.projections:
            if projection.name not in done:
                total += await self.advance(conn, projection)
        return total

    async def advance(self, conn: asyncpg.Connection, projection: Projection) -> int:
        """One batch of one projection. A failed batch is rolled back and tried again
        after a growing pause; after ``attempts`` failures it is applied event by event
        and the events that fail are set aside. Returns the events applied."""
        name = projection.name
        if time.monotonic() < self._retry_at.get(name, 0.0):
            return 0
        failures = self._failures.get(name, 0)
        try:
            if failures >= self.attempts:
                moved = await set_aside_batch(conn, self.store, projection, self.batch_size)
            else:
                moved = await apply_batch(conn, self.store, projection, self.batch_size)
        except UNREACHABLE:
            raise
        except Exception as exc:
            self._failures[name] = failures = failures + 1
            delay = min(self.retry_delay * 2 ** (failures - 1), 60.0)
            self._retry_at[name] = time.monotonic() + delay
            log.warning(
                "projection %s failed to apply a batch (try %d of %d): %s",
                name,
                failures,
                self.attempts,
                exc,
                exc_info=failures == 1,
            )
            return 0
        self._failures.pop(name, None)
        self._retry_at.pop(name, None)
        return moved

    def _notified(self, *_: object) -> None:
        self._wake.set()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
