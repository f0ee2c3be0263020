"""Group commit: concurrent appends share one transaction and one WAL flush.

Writers hand their events to the committer and wait. While one batch is being written,
new appends queue up; the next batch takes all of them (up to a bound) in one call of
``gl_insert_event_groups``, where each writer's events are all-or-nothing on their own:
a version conflict fails only that writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import asyncpg
from eventsourcing.persistence import StoredEvent

from eventstore.chain import leaves
from eventstore.errors import VersionConflict

MAX_BATCH_EVENTS = 2000

# Called with (writers, events) after each batch is written (api.metrics counts them).
BATCH_OBSERVERS: list[Callable[[int, int], None]] = []

# One writer's events, and the future that gets their notification ids.
_Pending = tuple[Sequence[StoredEvent], asyncio.Future[list[int]]]


class GroupCommitter:
    """Batches ``insert_events`` calls of many concurrent writers."""

    def __init__(self, pool: asyncpg.Pool, function: str) -> None:
        self.pool = pool
        self._sql = (
            f"SELECT g, nid FROM {function}"
            "($1::int[], $2::uuid[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[])"
        )
        self.make_leaves = True  # False: the database computes them (bench/append's baseline)
        self._queue: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None

    async def insert(self, events: Sequence[StoredEvent]) -> list[int]:
        """Append one writer's events atomically; returns their notification ids."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._queue.append((events, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch: list[_Pending] = []
            size = 0
            while self._queue and (not batch or size + len(self._queue[0][0]) <= MAX_BATCH_EVENTS):
                item = self._queue.pop(0)
                batch.append(item)
                size += len(item[0])
            await self._write(batch)

    async def _write(self, batch: list[_Pending]) -> None:
        columns: tuple[list[object], ...] = ([], [], [], [], [])
        for group, (events, _) in enumerate(batch):
            for e in events:
                for column, value in zip(
                    columns,
                    (group, e.originator_id, e.originator_version, e.topic, e.state),
                    strict=True,
                ):
                    column.append(value)
        made = (
            [leaf for events, _ in batch for leaf in leaves(events)] if self.make_leaves else None
        )
        try:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(self._sql, *columns, made)
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            if not isinstance(exc, Exception):
                raise
            return
        for observe in BATCH_OBSERVERS:
            observe(len(batch), len(columns[0]))
        ids: dict[int, list[int]] = {}
        conflicts = set()
        for g, nid in rows:
            if nid is None:
                conflicts.add(g)
            else:
                ids.setdefault(g, []).append(nid)
        for group, (_, future) in enumerate(batch):
            if future.done():
                continue
            if group in conflicts:
                future.set_exception(VersionConflict("an event with this version already exists"))
            else:
                future.set_result(ids.get(group, []))
