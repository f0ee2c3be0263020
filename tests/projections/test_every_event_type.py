"""Live against rebuilt, on a log holding every stored event type: each read model
applied one event (or a few) at a time as the projector does equals the same read model
rebuilt from the log, alone or with all the others, whatever the batch size."""

from __future__ import annotations

from typing import Any

import pytest

from domain.stored_names import EVENTS
from eventstore.database import Store
from projections.engine.rebuild import rebuild_many
from projections.engine.set_aside import TABLE as SET_ASIDE
from projections.registry import all_projections, create_tables
from tests.projections.every_event import every_event_log
from tests.projections.helpers import drain, dump


@pytest.fixture
async def projected(store: Store) -> Store:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    return store


async def stored_names(store: Store) -> list[str]:
    head = await store.events.max_notification_id() or 0
    notifications = await store.events.select_notifications(1, head)
    assert len(notifications) == head
    return [store.mapper.names.canonical(n.topic) for n in notifications]


async def test_the_log_holds_every_event_type(store: Store) -> None:
    await every_event_log(store)
    names = await stored_names(store)
    assert set(EVENTS) - set(names) == set()
    assert set(names) - set(EVENTS) == set()  # and nothing else (no snapshot, no stray)


def same_tables(actual: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    """Table by table, so that a failure names the table and the rows that differ."""
    assert actual.keys() == expected.keys(), what
    for table, rows in expected.items():
        missing = sorted(set(rows) - set(actual[table]))
        extra = sorted(set(actual[table]) - set(rows))
        assert (missing, extra) == ([], []), f"{what}: {table} differs"
        assert actual[table] == rows, f"{what}: {table} differs in duplicates"


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
async def test_live_and_rebuilt_read_models_are_the_same(projected: Store, batch_size: int) -> None:
    store = projected
    await every_event_log(store)
    await drain(store, batch_size)  # the live path
    set_aside = await store.pool.fetchval(f"SELECT count(*) FROM {store.names.q(SET_ASIDE)}")
    assert set_aside == 0  # every event applied, none set aside
    live = await dump(store)
    assert [table for table, rows in live.items() if not rows] == []  # nothing trivially equal
    for projection in all_projections():
        await rebuild_many(store, [projection], batch_size=batch_size)
        same_tables(await dump(store), live, f"{projection.name} rebuilt alone")
    await rebuild_many(store, all_projections(), batch_size=batch_size)
    same_tables(await dump(store), live, "all rebuilt together")
