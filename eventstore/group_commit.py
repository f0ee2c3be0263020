"""Group commit: concurrent appends share one transaction and one WAL flush.

Writers hand their events to the committer and wait. While one batch is being written,
new appends queue up; the next batch takes all of them (up to a bound) in one call of
``gl_insert_event_groups``, where each writer's events are all-or-nothing on their own:
a version conflict fails only that writer. A writer may hand over the idempotency record
of the command that made its events (``Keyed``): it is stored with them, atomically, and
a key already stored fails that writer alone too (``IdempotencyRace``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import asyncpg
from eventsourcing.persistence import StoredEvent

from eventstore.chain import leaves
from eventstore.errors import VersionConflict
from eventstore.idempotency import IdempotencyRace

MAX_BATCH_EVENTS = 2000

# Called with (writers, events) after each batch is written (api.metrics counts them).
BATCH_OBSERVERS: list[Callable[[int, int], None]] = []

# An idempotency record to store with a writer's events: (principal, key, request hash,
# response); its position is where the events land.
Keyed = tuple[str, str, str, bytes]

# One writer's events, its record, and the future that gets their notification ids.
_Pending = tuple[Sequence[StoredEvent], Keyed | None, asyncio.Future[list[int]]]


class GroupCommitter:
    """Batches ``insert_events`` calls of many concurrent writers."""

    def __init__(self, pool: asyncpg.Pool, function: str) -> None:
        self.pool = pool
        self._sql = (
            f"SELECT g, nid, failure FROM {function}"
            "($1::int[], $2::uuid[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[], "
            "$7::int[], $8::text[], $9::text[], $10::text[], $11::bytea[])"
        )
        self.make_leaves = True  # False: the database computes them (bench/append's baseline)
        self._queue: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None

    async def insert(self, events: Sequence[StoredEvent], keyed: Keyed | None = None) -> list[int]:
        """Append one writer's events atomically (with ``keyed``, the idempotency record
        of the command that made them); returns their notification ids."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._queue.append((events, keyed, future))
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
        keyed: tuple[list[object], ...] = ([], [], [], [], [])
        for group, (events, record, _) in enumerate(batch):
            if record is not None:
                for column, value in zip(keyed, (group, *record), strict=True):
                    column.append(value)
            for e in events:
                for column, value in zip(
                    columns,
                    (group, e.originator_id, e.originator_version, e.topic, e.state),
                    strict=True,
                ):
                    column.append(value)
        made = (
            [leaf for events, _, _ in batch for leaf in leaves(events)]
            if self.make_leaves
            else None
        )
        records = keyed if keyed[0] else (None,) * len(keyed)
        try:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(self._sql, *columns, made, *records)
        except BaseException as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            if not isinstance(exc, Exception):
                raise
            return
        for observe in BATCH_OBSERVERS:
            observe(len(batch), len(columns[0]))
        ids: dict[int, list[int]] = {}
        failed: dict[int, str] = {}
        for g, nid, failure in rows:
            if nid is None:
                failed[g] = failure
            else:
                ids.setdefault(g, []).append(nid)
        for group, (_, _, future) in enumerate(batch):
            if future.done():
                continue
            if failed.get(group) == "idempotency":
                future.set_exception(IdempotencyRace("this Idempotency-Key is already stored"))
            elif group in failed:
                future.set_exception(VersionConflict("an event with this version already exists"))
            else:
                future.set_result(ids.get(group, []))
