"""The asyncpg application recorder: eventsourcing's ``ApplicationRecorder``, async.

Method names, arguments and results mirror ``eventsourcing.persistence.ApplicationRecorder``
and it takes and returns the library's ``StoredEvent`` and ``Notification``.
Inserts take the same EXCLUSIVE table lock ``PostgresApplicationRecorder`` takes, so
notification ids are issued in commit order: gapless for readers, never interleaved
between concurrent transactions.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Notification, StoredEvent

from eventstore.chain import leaves
from eventstore.errors import UnstorableText, VersionConflict
from eventstore.group_commit import GroupCommitter, Keyed
from eventstore.schema import StoreNames

FIRST_TOPICS = 20_000  # aggregates whose kind a process remembers

# JSON's escape of a NUL character, not itself escaped (``\\u0000`` is a backslash
# followed by the text "u0000", which is fine).
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_MAX_VERSION = 2**63 - 1  # bigint's largest: "no upper bound" in a version range


def refuse_nul(stored_events: Sequence[StoredEvent]) -> None:
    """Raise ``UnstorableText`` if an event's state holds a NUL character."""
    for e in stored_events:
        if b"\\u0000" in e.state and _NUL.search(e.state):
            raise UnstorableText("text must not contain NUL characters (\\u0000)")


class AsyncApplicationRecorder:
    """Async recorder over an asyncpg pool for one store (schema and tables)."""

    def __init__(self, pool: asyncpg.Pool, names: StoreNames | None = None) -> None:
        self.pool = pool
        self.names = names or StoreNames()
        ev = self.names.q(self.names.events)
        self._insert_sql = (
            f"SELECT * FROM {self.names.q('gl_insert_events')}"
            "($1::uuid[], $2::bigint[], $3::text[], $4::bytea[], $5::bytea[])"
        )
        self._group = GroupCommitter(pool, self.names.q("gl_insert_event_groups"))
        # The version bounds are index conditions in every plan: the few events after a
        # cached version (or a snapshot) of an aggregate with 10,000 events are read
        # alone, also when the server runs a prepared statement's generic plan, where
        # ``$2 IS NULL OR v > $2`` would be a filter applied to every event of the
        # aggregate (tests/eventstore/test_version_ranges.py). Versions start at 1.
        self._select_events_sql = (
            f"SELECT originator_id, originator_version, topic, state FROM {ev} "
            "WHERE originator_id = $1 AND originator_version > coalesce($2::bigint, 0) "
            f"AND originator_version <= coalesce($3::bigint, {_MAX_VERSION}) "
        )
        self._select_after_each_sql = (
            f"SELECT e.originator_id, e.originator_version, e.topic, e.state "
            f"FROM unnest($1::uuid[], $2::bigint[]) AS k(id, v) JOIN {ev} e "
            "ON e.originator_id = k.id AND e.originator_version > k.v "
            "ORDER BY e.originator_id, e.originator_version"
        )
        self._select_originator_notifications_sql = (
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {ev} WHERE originator_id = $1 "
            "AND ($2::bigint IS NULL OR notification_id <= $2) AND originator_version > $3 "
            "ORDER BY originator_version LIMIT $4"
        )
        self._max_sql = f"SELECT MAX(notification_id) FROM {ev}"
        self._position_sql = (
            f"SELECT notification_id FROM {ev} WHERE originator_id = $1 AND originator_version = $2"
        )
        self._ev = ev
        self._first_topics: OrderedDict[UUID, str] = OrderedDict()
        # {snapshots}: the snapshots table (AsyncSnapshotStore's)
        self._latest_sql = (
            "WITH s AS (SELECT originator_version, topic, state FROM {snapshots} "
            "WHERE originator_id = $1 ORDER BY originator_version DESC LIMIT 1) "
            "SELECT * FROM (SELECT 0 AS k, originator_version, topic, state FROM s UNION ALL "
            f"SELECT 1, originator_version, topic, state FROM {ev} WHERE originator_id = $1 "
            "AND originator_version > coalesce((SELECT originator_version FROM s), 0)) AS x "
            "ORDER BY k, originator_version"
        )

    @property
    def make_leaves(self) -> bool:
        """Whether appends carry the events' leaf digests (else the database computes
        them: slower; bench/append's baseline without the chain turns this off)."""
        return self._group.make_leaves

    @make_leaves.setter
    def make_leaves(self, value: bool) -> None:
        self._group.make_leaves = value

    async def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        conn: asyncpg.Connection | None = None,
        keyed: Keyed | None = None,
    ) -> list[int]:
        """Insert events atomically and return their notification ids.

        With ``conn`` the insert joins the caller's open transaction; otherwise it is
        group-committed with concurrent appends, each writer's events still
        all-or-nothing on their own, and stored with ``keyed``, the idempotency record of
        the command that made them (a key already stored: ``IdempotencyRace``).
        """
        if not stored_events:
            return []
        refuse_nul(stored_events)
        if conn is not None:
            if keyed is not None:
                raise ValueError("an idempotency record is stored by the group commit only")
            return await self._insert(conn, stored_events)
        # On its own: share a transaction (and its commit) with concurrent appends.
        ids = await self._group.insert(stored_events, keyed)
        for e in stored_events:  # committed: new aggregates' kinds are known
            if e.originator_version == 1:
                self._remember_topic(_uuid(e.originator_id), e.topic)
        return ids

    async def _insert(
        self, conn: asyncpg.Connection, stored_events: Sequence[StoredEvent]
    ) -> list[int]:
        args = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
            leaves(stored_events) if self.make_leaves else None,
        )
        try:
            rows = await conn.fetch(self._insert_sql, *args)
        except asyncpg.UniqueViolationError as exc:
            raise VersionConflict(str(exc)) from exc
        return [r[0] for r in rows]

    async def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The events of one aggregate, by version."""
        sql = self._select_events_sql + (
            "ORDER BY originator_version DESC" if desc else "ORDER BY originator_version ASC"
        )
        params: list[object] = [_uuid(originator_id), gt, lte]
        if limit is not None:
            sql += " LIMIT $4"
            params.append(limit)
        async with self.pool.acquire() as c:
            rows = await c.fetch(sql, *params)
        return [StoredEvent(_uuid(r[0]), r[1], r[2], bytes(r[3])) for r in rows]

    async def select_events_after_each(
        self, after: Sequence[tuple[UUID, int]]
    ) -> dict[UUID, list[StoredEvent]]:
        """The events of several aggregates, each after its own version, in one statement
        (by aggregate, then version)."""
        async with self.pool.acquire() as c:
            rows = await c.fetch(
                self._select_after_each_sql, [a for a, _ in after], [v for _, v in after]
            )
        found: dict[UUID, list[StoredEvent]] = {}
        for r in rows:
            found.setdefault(_uuid(r[0]), []).append(
                StoredEvent(_uuid(r[0]), r[1], r[2], bytes(r[3]))
            )
        return found

    async def first_topic(self, originator_id: UUID) -> str | None:
        """The topic of an aggregate's first event (what kind of aggregate it is), or None
        if it has none; remembered once stored, since a stored event never changes."""
        found = self._first_topics.get(originator_id)
        if found is not None:
            self._first_topics.move_to_end(originator_id)
            return found
        first = await self.select_events(originator_id, lte=1, limit=1)
        if not first:
            return None
        self._remember_topic(originator_id, first[0].topic)
        return first[0].topic

    def _remember_topic(self, originator_id: UUID, topic: str) -> None:
        self._first_topics[originator_id] = topic
        self._first_topics.move_to_end(originator_id)
        if len(self._first_topics) > FIRST_TOPICS:
            self._first_topics.popitem(last=False)

    async def select_latest(
        self, originator_id: UUID, snapshots: str
    ) -> tuple[StoredEvent | None, list[StoredEvent]]:
        """An aggregate's latest snapshot (from the ``snapshots`` table) and its events
        after it, in one round trip: what a first load of an aggregate reads."""
        async with self.pool.acquire() as c:
            rows = await c.fetch(self._latest_sql.format(snapshots=snapshots), originator_id)
        snapshot = None
        events = []
        for r in rows:
            stored = StoredEvent(_uuid(originator_id), r[1], r[2], bytes(r[3]))
            if r[0] == 0:
                snapshot = stored
            else:
                events.append(stored)
        return snapshot, events

    async def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """Events in notification order from ``start``, at most ``limit`` of them."""
        where: list[str] = []
        params: list[object] = []
        if start is not None:
            params.append(start)
            where.append(f"notification_id {'>=' if inclusive_of_start else '>'} ${len(params)}")
        if stop is not None:
            params.append(stop)
            where.append(f"notification_id <= ${len(params)}")
        if topics:
            params.append(list(topics))
            where.append(f"topic = ANY(${len(params)}::text[])")
        params.append(limit)
        sql = (
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {self._ev}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY notification_id LIMIT ${len(params)}"
        )
        async with self.pool.acquire() as c:
            rows = await c.fetch(sql, *params)
        return [_notification(r) for r in rows]

    async def select_originator_notifications(
        self,
        originator_id: UUID,
        *,
        lte_position: int | None = None,
        after_version: int = 0,
        limit: int | None = None,
    ) -> Sequence[Notification]:
        """One aggregate's events with their positions, up to a position (as-of reads),
        after a version, at most ``limit`` of them (pages of a history)."""
        async with self.pool.acquire() as c:
            rows = await c.fetch(
                self._select_originator_notifications_sql,
                originator_id,
                lte_position,
                after_version,
                limit,
            )
        return [_notification(r) for r in rows]

    async def max_notification_id(self) -> int | None:
        """The highest notification id, or None for an empty store."""
        async with self.pool.acquire() as c:
            head: int | None = await c.fetchval(self._max_sql)
        return head

    async def max_notification_id_on(self, conn: asyncpg.Connection) -> int:
        """The highest notification id (0 when empty), on the caller's connection."""
        head: int | None = await conn.fetchval(self._max_sql)
        return head or 0

    async def position_of(
        self, conn: asyncpg.Connection, originator_id: UUID, version: int
    ) -> int | None:
        """The notification id of one aggregate's event at ``version``, if stored."""
        position: int | None = await conn.fetchval(self._position_sql, originator_id, version)
        return position


class AsyncSnapshotStore:
    """Snapshots in eventsourcing's aggregate-recorder layout (no notification ids)."""

    def __init__(self, pool: asyncpg.Pool, names: StoreNames | None = None) -> None:
        self.pool = pool
        self.names = names or StoreNames()
        self.table = table = self.names.q(self.names.snapshots)
        self._insert_sql = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
        )
        self._latest_sql = (
            f"SELECT originator_id, originator_version, topic, state FROM {table} "
            "WHERE originator_id = $1 "
            f"AND originator_version <= coalesce($2::bigint, {_MAX_VERSION}) "
            "ORDER BY originator_version DESC LIMIT 1"
        )

    async def insert_events(self, stored_events: Sequence[StoredEvent]) -> None:
        """Store snapshots; storing one twice is harmless."""
        async with self.pool.acquire() as c:
            await c.executemany(
                self._insert_sql,
                [(e.originator_id, e.originator_version, e.topic, e.state) for e in stored_events],
            )

    async def latest(self, originator_id: UUID, lte: int | None = None) -> StoredEvent | None:
        """The newest snapshot of an aggregate at or below version ``lte``."""
        async with self.pool.acquire() as c:
            r = await c.fetchrow(self._latest_sql, originator_id, lte)
        return None if r is None else StoredEvent(_uuid(r[0]), r[1], r[2], bytes(r[3]))


def _uuid(value: UUID | str) -> UUID:
    if type(value) is UUID:
        return value
    # asyncpg returns its own UUID subclass; hand out plain ones.
    return UUID(int=value.int) if isinstance(value, UUID) else UUID(str(value))


def _notification(r: asyncpg.Record) -> Notification:
    return Notification(
        id=r[0], originator_id=_uuid(r[1]), originator_version=r[2], topic=r[3], state=bytes(r[4])
    )


async def select_event_rows_on(
    conn: asyncpg.Connection,
    names: StoreNames,
    after: int,
    limit: int,
    *,
    upto: int | None = None,
) -> list[asyncpg.Record]:
    """Rows ``(notification_id, originator_id, originator_version, topic, state)`` after a
    position (up to ``upto``), as they are stored: for readers that decode the state
    themselves and need no ``Notification`` objects (projections)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {names.q(names.events)} WHERE notification_id > $1 "
        "AND ($3::bigint IS NULL OR notification_id <= $3) "
        "ORDER BY notification_id LIMIT $2",
        after,
        limit,
        upto,
    )
    return rows


async def select_notifications_on(
    conn: asyncpg.Connection,
    names: StoreNames,
    after: int,
    limit: int,
    *,
    upto: int | None = None,
) -> list[Notification]:
    """Notifications after a position (up to ``upto``), read on the caller's connection."""
    rows = await select_event_rows_on(conn, names, after, limit, upto=upto)
    return [_notification(r) for r in rows]
