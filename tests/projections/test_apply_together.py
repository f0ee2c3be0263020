"""The projector's joint batch (``apply_together``): every healthy read model advances in
one transaction, each from its own position, and a read model whose tracking row
another transaction holds is left to wait without holding up the others."""

from __future__ import annotations

import asyncpg
import pytest

from eventstore.database import Store
from projections.engine.projector import Projector, apply_batch, apply_together
from projections.engine.read_model import Projection
from projections.engine.rebuild import rebuild_many
from projections.engine.tracking import read_position
from projections.registry import all_projections, create_tables
from tests.projections.helpers import busy_portfolio, drain, dump, new_project


@pytest.fixture
async def projected(store: Store) -> Store:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    return store


async def _two_projects(store: Store) -> tuple[int, list[Projection], str]:
    """A short log; its head, every read model, the tracking table's name."""
    await busy_portfolio(store, projects=2)
    head = await store.events.max_notification_id() or 0
    return head, all_projections(), store.names.q(store.names.tracking)


async def test_read_models_at_different_positions_each_get_only_their_new_events(
    projected: Store,
) -> None:
    store = projected
    await busy_portfolio(store, projects=4)
    head = await store.events.max_notification_id() or 0
    models = all_projections()
    by_name = {p.name: p for p in models}
    async with store.pool.acquire() as conn:
        # audit and inbox ahead of the others, by different amounts
        await apply_batch(conn, store, by_name["audit"], head // 2)
        await apply_batch(conn, store, by_name["inbox"], head // 3)
        total, served = 0, set[str]()
        while True:
            moved, served = await apply_together(conn, store, models, 7)
            if not moved:
                break
            total += moved
    assert served == set(by_name)
    # every event once per read model: audit rows are keyed by position (a second
    # application would have failed), and the sum counts each model's own share
    assert total == len(models) * head - head // 2 - head // 3
    for p in models:
        assert await read_position(store.pool, store.names, p.name) == head
    together = await dump(store)
    await rebuild_many(store, models)
    assert await dump(store) == together


async def test_a_read_model_whose_row_is_held_elsewhere_is_left_out_and_keeps_its_place(
    projected: Store,
) -> None:
    store = projected
    head, models, tracking = await _two_projects(store)
    async with store.pool.acquire() as holder, store.pool.acquire() as conn:
        await apply_together(conn, store, models, 1)  # every tracking row exists
        async with holder.transaction():
            await holder.execute(
                f"SELECT 1 FROM {tracking} WHERE application_name = 'access' FOR UPDATE"
            )
            while (await apply_together(conn, store, models, 50))[0]:
                pass
            _, served = await apply_together(conn, store, models, 50)
            assert served == {p.name for p in models} - {"access"}
            assert await read_position(conn, store.names, "access") == 1
            for p in models:
                if p.name != "access":
                    assert await read_position(conn, store.names, p.name) == head
        while (await apply_together(conn, store, models, 50))[0]:
            pass
        assert await read_position(conn, store.names, "access") == head


async def test_a_read_model_far_behind_holds_up_none_of_the_others(projected: Store) -> None:
    """A read model refilled from the start (one added by an upgrade starts at 0) must
    not keep the others from the log's new events until it has caught up: they take
    their new events in the same round, as when each advanced on its own."""
    store = projected
    portfolio = await busy_portfolio(store, projects=2)
    models = all_projections()
    by_name = {p.name: p for p in models}
    await drain(store)
    tracking = store.names.q(store.names.tracking)
    async with store.pool.acquire() as conn:  # audit made anew, empty, as an upgrade does
        for base in by_name["audit"].tables:
            await conn.execute(f"TRUNCATE {store.names.q(base)}")
        await conn.execute(
            f"UPDATE {tracking} SET notification_id = 0 WHERE application_name = 'audit'"
        )
    await new_project(store, portfolio, "Late")
    head = await store.events.max_notification_id() or 0
    projector = Projector(store, models, batch_size=5)
    async with store.pool.acquire() as conn:
        await projector.catch_up(conn)
    for p in models:
        if p.name != "audit":
            assert await read_position(store.pool, store.names, p.name) == head, p.name
    assert await read_position(store.pool, store.names, "audit") == 5


async def test_once_the_rows_exist_an_uncommitted_update_of_one_holds_up_none_of_the_others(
    projected: Store,
) -> None:
    """The INSERT that makes missing tracking rows waits for a transaction updating one
    (a rebuild's switch-over); once they exist it is left out, and the row is skipped."""
    store = projected
    head, models, tracking = await _two_projects(store)
    async with store.pool.acquire() as holder, store.pool.acquire() as conn:
        await apply_together(conn, store, models, 1)  # every tracking row exists
        async with holder.transaction():
            await holder.execute(
                f"UPDATE {tracking} SET notification_id = notification_id "
                "WHERE application_name = 'access'"
            )
            await conn.execute("SET lock_timeout = '2s'")
            _, served = await apply_together(conn, store, models, 10_000, make_rows=False)
            assert served == {p.name for p in models} - {"access"}
            assert await read_position(conn, store.names, "inbox") == head
            with pytest.raises(asyncpg.LockNotAvailableError):  # what make_rows would meet
                await apply_together(conn, store, models, 10_000)
        await conn.execute("RESET lock_timeout")
