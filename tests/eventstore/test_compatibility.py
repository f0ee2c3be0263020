"""Gateledger's store and eventsourcing's own PostgresApplicationRecorder read each other."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresTrackingRecorder,
)

from bench.append import datastore_for
from eventstore.database import Store


@pytest.fixture
def es_datastore(store: Store, database_url: str) -> Iterator[PostgresDatastore]:
    ds = datastore_for(database_url, store.names.schema, pool_size=1)
    try:
        yield ds
    finally:
        ds.close()


def es_recorder(ds: PostgresDatastore) -> PostgresApplicationRecorder:
    recorder = PostgresApplicationRecorder(ds, events_table_name="stored_events")
    # The library's own create_table must accept the tables Gateledger created.
    recorder.create_table()
    return recorder


async def test_events_written_by_gateledger_read_back_by_eventsourcing(
    store: Store, es_datastore: PostgresDatastore
) -> None:
    a = uuid.uuid4()
    written = [StoredEvent(a, v, "x:Y", bytes([v, 0, 255])) for v in range(1, 4)]
    ids = await store.events.insert_events(written)
    recorder = await asyncio.to_thread(es_recorder, es_datastore)
    assert await asyncio.to_thread(recorder.select_events, a) == written
    notes = await asyncio.to_thread(recorder.select_notifications, 1, 10)
    assert [n.id for n in notes] == list(ids)
    assert await asyncio.to_thread(recorder.max_notification_id) == max(ids)


async def test_events_written_by_eventsourcing_read_back_by_gateledger(
    store: Store, es_datastore: PostgresDatastore
) -> None:
    a = uuid.uuid4()
    recorder = await asyncio.to_thread(es_recorder, es_datastore)
    written = [StoredEvent(a, v, "x:Z", f"payload {v}".encode()) for v in range(1, 4)]
    es_ids = await asyncio.to_thread(recorder.insert_events, written)
    assert await store.events.select_events(a) == written
    notes = await store.events.select_notifications(1, 10)
    assert [n.id for n in notes] == list(es_ids)
    # Both recorders keep one gapless sequence.
    more = await store.events.insert_events([StoredEvent(a, 4, "x:Z", b"4")])
    assert list(more) == [max(es_ids) + 1]


async def test_duplicate_across_recorders_is_a_conflict(
    store: Store, es_datastore: PostgresDatastore
) -> None:
    from eventsourcing.persistence import IntegrityError

    a = uuid.uuid4()
    await store.events.insert_events([StoredEvent(a, 1, "x:Y", b"1")])
    recorder = await asyncio.to_thread(es_recorder, es_datastore)
    with pytest.raises(IntegrityError):
        await asyncio.to_thread(recorder.insert_events, [StoredEvent(a, 1, "x:Y", b"2")])


async def test_tracking_table_is_eventsourcings(
    store: Store, es_datastore: PostgresDatastore
) -> None:
    tracking = PostgresTrackingRecorder(es_datastore, tracking_table_name="notification_tracking")
    await asyncio.to_thread(tracking.create_table)
    await asyncio.to_thread(tracking.insert_tracking, Tracking("portfolio_view", 42))
    assert await asyncio.to_thread(tracking.max_tracking_id, "portfolio_view") == 42
    async with store.pool.acquire() as conn:
        got = await conn.fetchval(
            f"SELECT notification_id FROM {store.names.q('notification_tracking')} "
            "WHERE application_name = 'portfolio_view'"
        )
    assert got == 42
