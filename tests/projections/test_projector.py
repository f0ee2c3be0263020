"""The projector: same tables whatever the batching, exactly once across crashes, one worker."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import pytest

from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from eventstore.schema import StoreNames
from projections.audit.model import AuditTrail
from projections.engine.events import Change
from projections.engine.projector import Projector, apply_batch
from projections.engine.rebuild import rebuild, rebuild_many
from projections.engine.tracking import read_position
from projections.inbox.model import Inbox
from projections.registry import all_projections, create_tables
from tests.projections.every_event import every_event_log
from tests.projections.helpers import busy_portfolio, drain, dump, new_portfolio, new_project


@pytest.fixture
async def projected(store: Store) -> Store:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    return store


async def test_any_batch_split_gives_the_same_tables(projected: Store) -> None:
    store = projected
    await every_event_log(store)
    await drain(store, batch_size=1)
    one_by_one = await dump(store)
    assert all(one_by_one.values())
    rnd = random.Random(7)
    for size in (2, 3, rnd.randint(4, 40), 10_000):
        for projection in all_projections():
            await rebuild(store, projection, batch_size=size)
        assert await dump(store) == one_by_one, f"batch size {size}"


class Crashing(Inbox):
    """Dies in the middle of its second batch, like a process killed between events."""

    def __init__(self) -> None:
        self.calls = 0

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        self.calls += 1
        if self.calls == 2:
            await super().apply(conn, names, changes[:1], suffix)
            raise ConnectionError("killed")
        await super().apply(conn, names, changes, suffix)


async def test_projector_killed_mid_batch_resumes_without_loss_or_double(projected: Store) -> None:
    store = projected
    await busy_portfolio(store, projects=5)
    crashing = Crashing()
    async with store.pool.acquire() as conn:
        assert await apply_batch(conn, store, crashing, 3) == 3
        with pytest.raises(ConnectionError):
            await apply_batch(conn, store, crashing, 3)
        assert await read_position(conn, store.names, "inbox") == 3
        while await apply_batch(conn, store, Inbox(), 4):
            pass
    resumed = await dump(store, [Inbox()])
    await rebuild(store, Inbox())
    assert await dump(store, [Inbox()]) == resumed


async def wait_until(predicate: Callable[..., Any], seconds: float = 20.0) -> bool:
    """Poll ``predicate`` (sync or async) until true or ``seconds`` pass."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_two_workers_never_both_advance_and_a_standby_takes_over(
    projected: Store, database_url: str
) -> None:
    store = projected
    other = await open_store(
        database_url, store.names, stored_names=STORED_NAMES, min_size=1, max_size=4
    )
    stops = [asyncio.Event(), asyncio.Event()]
    workers = [
        Projector(store, all_projections(), poll_interval=0.05),
        Projector(other, all_projections(), poll_interval=0.05),
    ]
    tasks = [asyncio.create_task(w.run(s)) for w, s in zip(workers, stops, strict=True)]

    async def position() -> int:  # of the read model counted below
        async with store.pool.acquire() as conn:
            return await read_position(conn, store.names, "portfolios")

    try:
        assert await wait_until(lambda: any(w.active for w in workers))
        await new_portfolio(store)
        for _ in range(20):
            assert sum(w.active for w in workers) == 1
            await asyncio.sleep(0.02)
        active = next(i for i, w in enumerate(workers) if w.active)
        standby = 1 - active
        # The active worker's database session dies (a crashed process).
        async with store.pool.acquire() as conn:
            await conn.execute("SELECT pg_terminate_backend($1)", workers[active].backend_pid)
        stops[active].set()
        assert await wait_until(lambda: workers[standby].active and not workers[active].active)
        await new_portfolio(store)
        head = await store.events.max_notification_id()

        async def caught_up() -> bool:
            return await position() == head

        assert await wait_until(caught_up)
        async with store.pool.acquire() as conn:
            n = await conn.fetchval(f"SELECT count(*) FROM {store.names.q('rm_portfolios')}")
        assert n == 2
    finally:
        for s in stops:
            s.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await other.close()


async def test_rebuild_while_commands_keep_arriving_matches_a_fresh_replay(
    projected: Store,
) -> None:
    store = projected
    portfolio = await busy_portfolio(store, projects=8)
    stop = asyncio.Event()
    projector = Projector(store, all_projections(), batch_size=7, poll_interval=0.02)
    live = asyncio.create_task(projector.run(stop))
    reading, written = asyncio.Event(), asyncio.Event()

    class Paused(AuditTrail):
        """Holds the rebuild at its first batch until commands have arrived after the
        head it reads up to: the overlap is certain, not left to timing."""

        async def apply_bulk(self, *args: Any) -> Any:
            if not reading.is_set():
                reading.set()
                await asyncio.wait_for(written.wait(), 30)
            return await super().apply_bulk(*args)

    async def keep_writing() -> None:
        await reading.wait()
        for i in range(30):
            await new_project(store, portfolio, f"late {i}")
            if i == 4:
                written.set()

    writer = asyncio.create_task(keep_writing())
    heads: list[int] = []
    rebuilt = [Paused() if p.name == "audit" else p for p in all_projections()]
    try:
        result = await rebuild_many(
            store, rebuilt, batch_size=5, progress=lambda _, head: heads.append(head)
        )
        # The commands written during the rebuild were caught up in its switch.
        assert heads[0] + 5 <= result.position  # five projects at least, an event each
        await writer
        head = await store.events.max_notification_id()
        for _ in range(300):
            async with store.pool.acquire() as conn:
                positions = [
                    await read_position(conn, store.names, p.name) for p in all_projections()
                ]
            if min(positions) == head:
                break
            await asyncio.sleep(0.02)
        assert min(positions) == head
    finally:
        writer.cancel()  # still waiting, if the rebuild failed before its first batch
        stop.set()
        await live
    after_live = await dump(store)
    for projection in all_projections():
        await rebuild(store, projection)
    assert await dump(store) == after_live


async def test_projection_tables_are_created_idempotently(projected: Store) -> None:
    async def tables() -> list[str]:
        async with projected.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1",
                projected.names.schema,
            )
        return [r[0] for r in rows]

    before = await tables()
    expected = {t for p in all_projections() for t in p.tables}
    assert expected <= set(before)
    async with projected.pool.acquire() as conn:
        await create_tables(conn, projected.names)
    assert await tables() == before


async def test_workers_starting_together_never_split_the_locks(projected: Store) -> None:
    """Regression: two workers each holding one of the two locks waited forever."""
    for _ in range(5):
        stops = [asyncio.Event(), asyncio.Event()]
        workers = [Projector(projected, all_projections(), poll_interval=0.02) for _ in stops]
        tasks = [asyncio.create_task(w.run(s)) for w, s in zip(workers, stops, strict=True)]
        try:
            assert await wait_until(lambda ws=workers: any(w.active for w in ws), seconds=10)
            assert sum(w.active for w in workers) == 1
        finally:
            for s in stops:
                s.set()
            await asyncio.gather(*tasks)


async def test_a_rebuild_keeps_the_usual_index_names(projected: Store) -> None:
    """Start-up's CREATE INDEX IF NOT EXISTS must find the rebuilt indexes, not add more."""

    async def indexes() -> list[str]:
        async with projected.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = $1 "
                "AND tablename LIKE 'rm\\_%' ORDER BY 1",
                projected.names.schema,
            )
        return [r[0] for r in rows]

    before = await indexes()
    await busy_portfolio(projected, projects=2)
    await rebuild_many(projected, all_projections())
    async with projected.pool.acquire() as conn:
        await create_tables(conn, projected.names)
    assert await indexes() == before and before
