"""Each read model keeps its own tables, version and position (issue 11 item 1): one can
be rebuilt alone while the others keep serving, untouched."""

from __future__ import annotations

import asyncio

import pytest

from eventstore.database import Store
from projections.engine.rebuild import rebuild_many
from projections.engine.tracking import read_position
from projections.registry import all_projections, create_tables
from tests.projections.helpers import busy_portfolio, drain, dump

NAMES = [p.name for p in all_projections()]


@pytest.fixture
async def projected(store: Store) -> Store:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    await busy_portfolio(store, projects=6)
    await drain(store)
    return store


async def _table_oids(store: Store, tables: list[str]) -> dict[str, int]:
    async with store.pool.acquire() as conn:
        return {
            t: await conn.fetchval("SELECT $1::regclass::oid", store.names.q(t)) for t in tables
        }


def test_every_read_model_owns_its_tables_alone() -> None:
    """One read model per thing shown: changing the inbox no longer rebuilds projects."""
    assert set(NAMES) == {
        "portfolios",
        "projects",
        "requests",
        "delegations",
        "inbox",
        "audit",
        "access",
        "templates",
    }
    owners: dict[str, str] = {}
    for projection in all_projections():
        for t in projection.tables:
            assert t not in owners, f"{t} belongs to {owners.get(t)} and {projection.name}"
            owners[t] = projection.name
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
async def test_a_read_model_rebuilds_alone_while_the_others_keep_serving(
    projected: Store, name: str
) -> None:
    store = projected
    alone = next(p for p in all_projections() if p.name == name)
    others = [p for p in all_projections() if p.name != name]
    other_tables = [t for p in others for t in p.tables]
    before = await dump(store)
    oids = await _table_oids(store, other_tables)
    async with store.pool.acquire() as conn:
        positions = {p.name: await read_position(conn, store.names, p.name) for p in others}

    served = 0
    done = asyncio.Event()

    async def keep_reading() -> None:
        nonlocal served
        while not done.is_set():
            async with store.pool.acquire() as conn:
                for t in other_tables:  # each answers at once: nothing of theirs is locked
                    await conn.fetchval(f"SELECT count(*) FROM {store.names.q(t)}", timeout=2)
            served += 1
            await asyncio.sleep(0)

    reader = asyncio.create_task(keep_reading())
    try:
        result = await rebuild_many(store, [alone], batch_size=7)
    finally:
        done.set()
        await reader
    assert result.projection == name and served > 0
    assert await dump(store) == before  # the same rows, rebuilt or not
    assert await _table_oids(store, other_tables) == oids  # the others' tables untouched
    async with store.pool.acquire() as conn:
        after = {p.name: await read_position(conn, store.names, p.name) for p in others}
    assert after == positions
