"""An aggregate's events after a version are read through the index in every plan.

asyncpg prepares its statements, and PostgreSQL may run a prepared statement with a
generic plan (one made without the parameters' values). A version bound written as
``$2 IS NULL OR originator_version > $2`` is then a filter: loading the 10 events after
a cached version or a snapshot of a 3,000-event aggregate would read all 3,000. These
tests force the generic plan and check that the bounds are index conditions.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from eventsourcing.persistence import StoredEvent

from eventstore.database import Store


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a JSON plan that reads a table."""
    found = [plan] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


async def _generic_plan(store: Store, sql: str, types: str, args: str) -> dict[str, Any]:
    async with store.pool.acquire() as conn:
        # the generic plan, and the index wherever it can serve (small test tables)
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute("SET enable_seqscan = off")
        try:
            await conn.execute(f"PREPARE under_test({types}) AS {sql}")
            try:
                text = await conn.fetchval(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE under_test({args})"
                )
            finally:
                await conn.execute("DEALLOCATE under_test")
        finally:
            await conn.execute("RESET plan_cache_mode")
            await conn.execute("RESET enable_seqscan")
    plan: dict[str, Any] = json.loads(text)[0]["Plan"]
    return plan


async def _big_aggregate(store: Store) -> uuid.UUID:
    big = uuid.uuid4()
    await store.events.insert_events(
        [StoredEvent(big, v, "tests:Happened", b"{}") for v in range(1, 3001)]
    )
    for _ in range(10):  # others, so that the table is worth an index
        await store.events.insert_events(
            [StoredEvent(uuid.uuid4(), v, "tests:Happened", b"{}") for v in range(1, 4)]
        )
    async with store.pool.acquire() as conn:
        await conn.execute(f"ANALYZE {store.names.q(store.names.events)}")
    return big


async def test_events_after_a_version_are_an_index_range_in_a_generic_plan(store: Store) -> None:
    big = await _big_aggregate(store)
    sql = store.events._select_events_sql + "ORDER BY originator_version"
    plan = await _generic_plan(store, sql, "uuid, bigint, bigint", f"'{big}', 2990, NULL")
    assert plan["Actual Rows"] == 10
    (scan,) = _scans(plan)
    assert "originator_version" in scan.get("Index Cond", ""), scan
    assert scan.get("Rows Removed by Filter", 0) == 0, scan
    assert scan["Actual Rows"] == 10
    # and the same statement still reads everything, and windows, as before
    assert len(await store.events.select_events(big)) == 3000
    window = await store.events.select_events(big, gt=10, lte=12)
    assert [e.originator_version for e in window] == [11, 12]


async def test_a_snapshot_at_or_below_a_version_is_an_index_range_in_a_generic_plan(
    store: Store,
) -> None:
    big = uuid.uuid4()
    await store.snapshots.insert_events(
        [StoredEvent(big, v, "tests:Snapshot", b"{}") for v in range(50, 3001, 50)]
    )
    for _ in range(10):
        await store.snapshots.insert_events(
            [StoredEvent(uuid.uuid4(), 50, "tests:Snapshot", b"{}")]
        )
    async with store.pool.acquire() as conn:
        await conn.execute(f"ANALYZE {store.snapshots.table}")
    sql = store.snapshots._latest_sql
    plan = await _generic_plan(store, sql, "uuid, bigint", f"'{big}', 120")
    (scan,) = _scans(plan)
    assert "originator_version" in scan.get("Index Cond", ""), scan
    assert scan.get("Rows Removed by Filter", 0) == 0, scan
    found = await store.snapshots.latest(big, 120)
    assert found is not None and found.originator_version == 100
    latest = await store.snapshots.latest(big)
    assert latest is not None and latest.originator_version == 3000
