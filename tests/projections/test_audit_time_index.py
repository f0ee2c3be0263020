"""The audit trail's time index (``rm_audit_marks``): a time filter starts the scan at
its window, and still finds exactly the rows whose own time is in the window although
events' times are only roughly in log order (a command's time is taken before its
commit, so a later position can carry an earlier time)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from eventstore.database import Store
from projections.audit import model as audit_trail
from projections.audit.model import AuditFilter, AuditTrail
from projections.engine.events import Change
from projections.engine.read_model import BulkContext

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS = 300
EVERY = 8  # positions per bucket here (1024 in production: the same code, more rows)


def _log(seed: int) -> list[Change]:
    """Events whose times drift ahead of and behind log order by up to a minute, with
    a few far out of order (a command retried long after its first attempt)."""
    rnd = random.Random(seed)
    out = []
    for position in range(1, EVENTS + 1):
        at = T0 + timedelta(seconds=10 * position + rnd.uniform(-60, 60))
        if rnd.random() < 0.03:
            at -= timedelta(minutes=rnd.uniform(5, 30))
        out.append(
            Change(
                position=position,
                aggregate_id=uuid4(),
                version=1,
                type="Thing.Happened",
                at=at,
                data={},
                actor=rnd.choice(["ann", "bob", "cy"]),
                key="Thing.Happened",
                aggregate="Thing",
            )
        )
    return out


async def _live(store: Store, log: list[Change], seed: int) -> None:
    """The live projector's path: batches of every size, buckets met across batches."""
    trail, rnd, at = AuditTrail(), random.Random(seed), 0
    async with store.pool.acquire() as conn:
        for statement in trail.ddl(store.names, ""):
            await conn.execute(statement)
        while at < len(log):
            size = rnd.choice([1, 2, 3, 5, 13, 40])
            await trail.apply(conn, store.names, log[at : at + size], "")
            at += size


async def _rebuilt(store: Store, log: list[Change]) -> None:
    """A rebuild's path (bulk rows and marks, written at the end)."""
    trail = AuditTrail()
    async with store.pool.acquire() as conn:
        for statement in trail.ddl(store.names, ""):
            await conn.execute(statement)
        state = trail.bulk(BulkContext(len(log), store.pool))
        for at in range(0, len(log), 64):
            assert not await trail.apply_bulk(conn, store.names, "", state, log[at : at + 64])
        await trail.flush_bulk(conn, store.names, "", state)


@pytest.mark.parametrize("path", ["live", "rebuilt"])
async def test_a_time_window_finds_exactly_the_rows_whose_time_is_in_it(
    store: Store, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_trail, "MARK_EVERY", EVERY)
    log = _log(seed=7)
    await (_live(store, log, seed=7) if path == "live" else _rebuilt(store, log))
    async with store.pool.acquire() as conn:
        marks = await conn.fetch(f"SELECT * FROM {store.names.q('rm_audit_marks')}")
    # one mark per bucket, spanning exactly its rows' times
    want: dict[int, tuple[datetime, datetime]] = {}
    for c in log:
        lo, hi = want.get(c.position // EVERY, (c.at, c.at))
        want[c.position // EVERY] = (min(lo, c.at), max(hi, c.at))
    assert {m["bucket"]: (m["at_min"], m["at_max"]) for m in marks} == want

    rnd = random.Random(11)
    times = [c.at for c in log]
    for _ in range(60):
        start = rnd.choice(
            [None, rnd.choice(times), T0 + timedelta(seconds=rnd.uniform(-900, 4000))]
        )
        end = rnd.choice([None, rnd.choice(times), T0 + timedelta(seconds=rnd.uniform(-900, 4000))])
        actor = rnd.choice([None, "ann"])
        expected = [
            c.position
            for c in log
            if (start is None or c.at >= start)
            and (end is None or c.at < end)
            and (actor is None or c.actor == actor)
        ]
        found: list[int] = []
        after = 0
        while True:  # every page, as a client follows the cursor
            f = AuditFilter(actor=actor, start=start, end=end, after=after)
            rows, cursor = await audit_trail.query(store.pool, store.names, f, 7)
            found += [r["position"] for r in rows]
            if cursor is None:
                break
            after = cursor
        assert found == expected, (start, end, actor)
        streamed = [
            r["position"]
            async for r in audit_trail.stream(
                store.pool, store.names, AuditFilter(actor=actor, start=start, end=end)
            )
        ]
        assert streamed == expected


async def test_a_window_before_or_after_every_event_finds_none(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_trail, "MARK_EVERY", EVERY)
    log = _log(seed=3)
    await _live(store, log, seed=3)
    first, last = min(c.at for c in log), max(c.at for c in log)
    for start, end in (
        (last + timedelta(seconds=1), None),
        (None, first),
        (last + timedelta(days=1), last + timedelta(days=2)),
    ):
        rows, cursor = await audit_trail.query(
            store.pool, store.names, AuditFilter(start=start, end=end), 50
        )
        assert (rows, cursor) == ([], None)
    rows, _ = await audit_trail.query(store.pool, store.names, AuditFilter(start=last), 50)
    assert [r["at"] for r in rows] == [last]
