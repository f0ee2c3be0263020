"""The recorder's contract: ordering, gaplessness, no interleaving, conflicts."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from eventstore.database import Store
from eventstore.errors import VersionConflict


def ev(oid: uuid.UUID, version: int, topic: str = "tests:Happened") -> StoredEvent:
    return StoredEvent(oid, version, topic, f"state-{oid}-{version}".encode())


async def test_insert_returns_notification_ids_in_order(store: Store) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    ids1 = await store.events.insert_events([ev(a, 1), ev(a, 2)])
    ids2 = await store.events.insert_events([ev(b, 1)])
    assert list(ids1) == [1, 2]
    assert list(ids2) == [3]
    assert await store.events.max_notification_id() == 3


async def test_max_notification_id_of_empty_store_is_none(store: Store) -> None:
    assert await store.events.max_notification_id() is None


async def test_select_events_by_version_window(store: Store) -> None:
    a = uuid.uuid4()
    await store.events.insert_events([ev(a, v) for v in range(1, 6)])
    got = await store.events.select_events(a)
    assert [e.originator_version for e in got] == [1, 2, 3, 4, 5]
    assert got[0] == ev(a, 1)
    assert type(got[0].originator_id) is uuid.UUID
    window = await store.events.select_events(a, gt=1, lte=4)
    assert [e.originator_version for e in window] == [2, 3, 4]
    desc = await store.events.select_events(a, desc=True, limit=2)
    assert [e.originator_version for e in desc] == [5, 4]
    assert await store.events.select_events(uuid.uuid4()) == []


async def test_duplicate_version_raises_conflict_and_writes_nothing(store: Store) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await store.events.insert_events([ev(a, 1)])
    with pytest.raises(VersionConflict) as info:
        await store.events.insert_events([ev(b, 1), ev(a, 1)])
    assert isinstance(info.value, IntegrityError)
    assert await store.events.select_events(b) == []
    assert await store.events.max_notification_id() == 1


async def test_select_notifications_start_stop_limit_topics(store: Store) -> None:
    a = uuid.uuid4()
    await store.events.insert_events([ev(a, v, f"t:{v % 2}") for v in range(1, 11)])
    sel = store.events.select_notifications
    assert [n.id for n in await sel(1, 3)] == [1, 2, 3]
    assert [n.id for n in await sel(3, 3, inclusive_of_start=False)] == [4, 5, 6]
    assert [n.id for n in await sel(5, 100, stop=7)] == [5, 6, 7]
    assert [n.id for n in await sel(None, 4, topics=["t:0"])] == [2, 4, 6, 8]
    first = (await sel(1, 1))[0]
    assert (first.originator_id, first.originator_version, first.state) == (
        a,
        1,
        ev(a, 1).state,
    )


async def test_two_concurrent_writers_never_interleave_and_leave_no_gaps(store: Store) -> None:
    """Two writers of 1,000 events each, one event per transaction, in parallel."""
    writers = [uuid.uuid4(), uuid.uuid4()]

    async def write(oid: uuid.UUID) -> list[int]:
        ids: list[int] = []
        for v in range(1, 1001):
            ids.extend(await store.events.insert_events([ev(oid, v)]))
        return ids

    results = await asyncio.gather(*(write(w) for w in writers))
    all_ids = sorted(results[0] + results[1])
    assert all_ids == list(range(1, 2001))
    notes = await store.events.select_notifications(1, 5000)
    assert [n.id for n in notes] == list(range(1, 2001))
    for w in writers:
        versions = [n.originator_version for n in notes if n.originator_id == w]
        assert versions == list(range(1, 1001))


async def test_batches_from_concurrent_transactions_are_contiguous(store: Store) -> None:
    """Each transaction's ids form one block: no other transaction's ids inside it."""

    async def write(oid: uuid.UUID) -> list[list[int]]:
        blocks = []
        for start in range(1, 200, 10):
            ids = await store.events.insert_events([ev(oid, v) for v in range(start, start + 10)])
            blocks.append(list(ids))
        return blocks

    results = await asyncio.gather(*(write(uuid.uuid4()) for _ in range(8)))
    for blocks in results:
        for block in blocks:
            assert block == list(range(block[0], block[0] + 10))
    assert await store.events.max_notification_id() == 8 * 200


async def test_insert_joins_callers_transaction(store: Store) -> None:
    a = uuid.uuid4()
    async with store.pool.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        await store.events.insert_events([ev(a, 1)], conn=conn)
        await tr.rollback()
    assert await store.events.select_events(a) == []


async def test_select_originator_notifications_up_to_position(store: Store) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await store.events.insert_events([ev(a, 1)])
    await store.events.insert_events([ev(b, 1)])
    await store.events.insert_events([ev(a, 2)])
    upto2 = await store.events.select_originator_notifications(a, lte_position=2)
    assert [(n.id, n.originator_version) for n in upto2] == [(1, 1)]
    every = await store.events.select_originator_notifications(a)
    assert [(n.id, n.originator_version) for n in every] == [(1, 1), (3, 2)]


async def test_snapshots_latest_at_or_below_version(store: Store) -> None:
    a = uuid.uuid4()
    await store.snapshots.insert_events([ev(a, 3, "snap"), ev(a, 7, "snap")])
    await store.snapshots.insert_events([ev(a, 7, "snap")])  # twice is harmless
    latest = await store.snapshots.latest(a)
    assert latest is not None and latest.originator_version == 7
    older = await store.snapshots.latest(a, lte=5)
    assert older is not None and older.originator_version == 3
    assert await store.snapshots.latest(uuid.uuid4()) is None


async def test_schema_creation_is_idempotent(store: Store) -> None:
    from eventstore.schema import create_schema

    async with store.pool.acquire() as conn:
        await create_schema(conn, store.names)
        await create_schema(conn, store.names)
    assert await store.events.max_notification_id() is None


async def test_a_failed_insert_leaves_no_hole_in_the_ids(store: Store) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await store.events.insert_events([ev(a, 1)])
    with pytest.raises(VersionConflict):
        await store.events.insert_events([ev(b, 1), ev(a, 1)])
    assert list(await store.events.insert_events([ev(b, 1)])) == [2]
    async with store.pool.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        await store.events.insert_events([ev(b, 2)], conn=conn)
        await tr.rollback()
    assert list(await store.events.insert_events([ev(b, 2)])) == [3]


async def test_group_commit_fails_only_the_conflicting_writer(store: Store) -> None:
    taken = uuid.uuid4()
    await store.events.insert_events([ev(taken, 1)])
    writers = [uuid.uuid4() for _ in range(40)]
    results = await asyncio.gather(
        *(store.events.insert_events([ev(w, 1), ev(w, 2)]) for w in writers),
        store.events.insert_events([ev(taken, 1)]),
        return_exceptions=True,
    )
    assert isinstance(results[-1], VersionConflict)
    ids = sorted(i for r in results[:-1] for i in r)  # type: ignore[union-attr]
    assert ids == list(range(2, 2 + 80))
    for w, r in zip(writers, results, strict=False):
        assert r == [r[0], r[0] + 1]  # type: ignore[index]
        assert [e.originator_version for e in await store.events.select_events(w)] == [1, 2]


async def test_ids_stay_unique_when_eventsourcing_and_gateledger_alternate(
    store: Store,
) -> None:
    """The table's sequence is kept past Gateledger's ids, so the library's own
    recorder (which uses the sequence) never collides with them."""
    a = uuid.uuid4()
    await store.events.insert_events([ev(a, 1), ev(a, 2)])
    async with store.pool.acquire() as conn:
        nid = await conn.fetchval(
            f"INSERT INTO {store.names.q('stored_events')} (originator_id, originator_version, "
            "topic, state) VALUES ($1, 3, 't', '') RETURNING notification_id",
            a,
        )
    assert nid == 3
    assert list(await store.events.insert_events([ev(a, 4)])) == [4]
