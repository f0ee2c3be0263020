"""A rebuild never switches in read models built from fewer events than the position
they would record: a bad batch size or a pass that stops early leaves every read model,
and its position, as it was."""

from __future__ import annotations

from typing import Any

import pytest

from eventstore.database import Store
from projections.engine import rebuild as rebuild_module
from projections.engine.rebuild import IncompleteRebuild, rebuild_many
from projections.engine.tracking import read_position
from projections.registry import all_projections, create_tables
from tests.projections.helpers import busy_portfolio, drain, dump


@pytest.fixture
async def served(store: Store) -> Store:
    """A log with its read models caught up to the head, as a server keeps them."""
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    await busy_portfolio(store, projects=3)
    await drain(store)
    return store


async def _snapshot(store: Store) -> tuple[dict[str, Any], dict[str, int], list[str]]:
    positions = {
        p.name: await read_position(store.pool, store.names, p.name) for p in all_projections()
    }
    leftovers = await store.pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%\\_\\_rb%'",
        store.names.schema,
    )
    return await dump(store), positions, [r[0] for r in leftovers]


@pytest.mark.parametrize("batch_size", [0, -5])
async def test_a_batch_size_below_one_is_refused_before_anything_changes(
    served: Store, batch_size: int
) -> None:
    before = await _snapshot(served)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        await rebuild_many(served, all_projections(), batch_size=batch_size)
    assert await _snapshot(served) == before


async def test_a_pass_that_stops_early_is_not_switched_in(
    served: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader answers its first batch, then nothing: the pass ends short of the head."""
    head = await served.events.max_notification_id()
    assert head and head > 3
    before = await _snapshot(served)
    assert all(position == head for position in before[1].values())
    read = rebuild_module.select_event_rows_on

    async def stops_early(conn: Any, names: Any, after: int, limit: int, **kw: Any) -> Any:
        return [] if after > 0 else await read(conn, names, after, limit, **kw)

    monkeypatch.setattr(rebuild_module, "select_event_rows_on", stops_early)
    with pytest.raises(IncompleteRebuild, match=f"went through 3 of the {head:,} events"):
        await rebuild_many(served, all_projections(), batch_size=3)
    assert await _snapshot(served) == before  # same rows, positions, no new tables left
