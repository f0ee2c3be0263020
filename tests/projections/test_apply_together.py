"""The projector's joint batch (``apply_together``): every healthy read model advances in
one transaction, each from its own position, and a read model whose tracking row
another transaction holds is left to wait without holding up the others."""

from __future__ import annotations

import pytest

from eventstore.database import Store
from projections.engine.projector import apply_batch, apply_together
from projections.engine.rebuild import rebuild_many
from projections.engine.tracking import read_position
from projections.registry import all_projections, create_tables
from tests.projections.helpers import busy_portfolio, dump


@pytest.fixture
async def projected(store: Store) -> Store:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    return store


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
    await busy_portfolio(store, projects=2)
    head = await store.events.max_notification_id() or 0
    models = all_projections()
    tracking = store.names.q(store.names.tracking)
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
