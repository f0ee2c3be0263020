"""An event a projection cannot apply is set aside: the projection moves on, the others
are not held up, it is said once, and it can be re-applied after a fix."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from domain.gate_review import Evidence, Vote
from eventstore.database import Store
from projections.audit import model as audit_trail
from projections.audit.model import AuditTrail
from projections.engine import set_aside, set_aside_retry
from projections.engine.events import Change
from projections.engine.projector import Projector
from projections.engine.rebuild import rebuild, rebuild_many
from projections.engine.tracking import read_position
from projections.folds import HANDLERS
from projections.inbox.model import Inbox
from projections.projects.model import Projects
from projections.registry import all_projections, create_tables
from tests.projections.helpers import OPTS, by, dump, new_portfolio, new_project
from workflows import gates

SAID_ONCE = "set aside the event at position"


@pytest.fixture
async def projected(store: Store) -> Store:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    return store


async def voted(store: Store) -> tuple[int, UUID]:
    """A project whose last event is dave's vote (its position returned), then another
    project after it: events the projections must still reach past the vote."""
    portfolio = await new_portfolio(store)
    project = await new_project(store, portfolio, "A")
    await gates.request_review(
        store, project_id=project, gate="G0", evidence=[Evidence("M")], by=by("paula"), options=OPTS
    )
    vote = await gates.cast_vote(
        store,
        project_id=project,
        gate="G0",
        vote=Vote.APPROVE,
        rationale="ok",
        by=by("dave"),
        options=OPTS,
    )
    await new_project(store, portfolio, "B")
    return vote.position, project


def poison_fold(monkeypatch: pytest.MonkeyPatch, position: int) -> None:
    """The fold of votes (in the projects and inbox read models) raises for the event at
    ``position`` only."""
    real = HANDLERS["Project.VoteCast"]

    def poisoned(batch: object, change: Change) -> None:
        if change.position == position:
            raise ValueError(f"poisoned vote at {position}")
        real(batch, change)  # type: ignore[arg-type]

    monkeypatch.setitem(HANDLERS, "Project.VoteCast", poisoned)


def poison_audit(monkeypatch: pytest.MonkeyPatch, position: int) -> None:
    """The audit trail's row builder raises for any batch holding ``position``."""
    real = audit_trail.audit_rows

    def poisoned(changes: list[Change], scope: Any, labels: Any) -> list[Any]:
        if any(c.position == position for c in changes):
            raise RuntimeError(f"poisoned audit row at {position}")
        return real(changes, scope, labels)

    monkeypatch.setattr(audit_trail, "audit_rows", poisoned)


async def until(predicate: Callable[[], object], seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():  # type: ignore[misc]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def at_head(store: Store) -> bool:
    head = await store.events.max_notification_id() or 0
    positions = [await read_position(store.pool, store.names, p.name) for p in all_projections()]
    return min(positions) >= head


def said(caplog: pytest.LogCaptureFixture, position: int) -> int:
    return sum(f"{SAID_ONCE} {position} " in r.getMessage() for r in caplog.records)


async def test_projector_sets_a_poisoned_event_aside_once_and_the_audit_trail_keeps_going(
    projected: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = projected
    position, project = await voted(store)
    poison_fold(monkeypatch, position)
    caplog.set_level(logging.WARNING)
    projector = Projector(store, all_projections(), poll_interval=0.01, retry_delay=0.01)
    stop = asyncio.Event()
    worker = asyncio.create_task(projector.run(stop))
    try:
        await until(lambda: at_head(store))
        await new_project(store, await new_portfolio(store), "C")  # and later events still flow
        await until(lambda: at_head(store))
    finally:
        stop.set()
        await worker
    # Both read models that fold project events set it aside; the others go on.
    entries = await set_aside.listed(store.pool, store.names)
    assert {(e.projection, e.position, e.originator_id) for e in entries} == {
        ("projects", position, project),
        ("inbox", position, project),
    }
    assert all("poisoned vote" in e.error and e.resolved_at is None for e in entries)
    assert said(caplog, position) == 2  # once by each
    tries = [r for r in caplog.records if "failed to apply a batch" in r.getMessage()]
    assert len(tries) == 2 * projector.attempts  # bounded, not forever

    monkeypatch.undo()  # the fix
    retried = await set_aside_retry.retry(store, all_projections())
    assert len(retried) == 2 and all(r.error is None for r in retried)
    assert await set_aside.listed(store.pool, store.names) == []
    fixed = await dump(store)
    await rebuild(store, Inbox())  # the vote was the project's last event
    await rebuild(store, Projects())
    assert await dump(store) == fixed


async def test_retry_of_an_event_that_still_fails_keeps_it_set_aside(
    projected: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = projected
    position, _ = await voted(store)
    poison_fold(monkeypatch, position)
    async with store.pool.acquire() as conn:
        while await set_aside.set_aside_batch(conn, store, Inbox(), 2):
            pass
    [still] = await set_aside_retry.retry(store, all_projections(), projection="inbox")
    assert still.error is not None and "poisoned vote" in still.error
    [entry] = await set_aside.listed(store.pool, store.names)
    assert entry.attempts == 2 and entry.resolved_at is None


async def test_rebuild_sets_aside_what_it_cannot_apply_and_a_fixed_rebuild_clears_it(
    projected: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = projected
    position, _ = await voted(store)
    await rebuild_many(store, all_projections())
    clean = await dump(store)
    poison_fold(monkeypatch, position)
    poison_audit(monkeypatch, position - 1)  # the review request
    caplog.set_level(logging.WARNING)
    result = await rebuild_many(store, all_projections(), batch_size=3)
    assert result.position == await store.events.max_notification_id()
    found = {(e.projection, e.position) for e in await set_aside.listed(store.pool, store.names)}
    assert found == {("projects", position), ("inbox", position), ("audit", position - 1)}
    assert said(caplog, position) == 2 and said(caplog, position - 1) == 1
    assert await at_head(store)

    monkeypatch.undo()
    await rebuild(store, Inbox())
    await rebuild(store, Projects())
    await rebuild(store, AuditTrail())
    assert await set_aside.listed(store.pool, store.names) == []
    assert len(await set_aside.listed(store.pool, store.names, everything=True)) == 3
    assert await dump(store) == clean


async def test_an_error_no_event_causes_fails_the_batch_and_sets_nothing_aside(
    projected: Store,
) -> None:
    """A missing table is the database's problem, not the events': setting aside every
    event of the batch would empty the read model."""
    store = projected
    await voted(store)
    async with store.pool.acquire() as conn:
        await conn.execute(f"DROP TABLE {store.names.q('rm_audit_scope')}")
        with pytest.raises(asyncpg.UndefinedTableError):
            await set_aside.set_aside_batch(conn, store, AuditTrail())
        assert await read_position(conn, store.names, "audit") == 0
    assert await set_aside.listed(store.pool, store.names, everything=True) == []
