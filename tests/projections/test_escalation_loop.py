"""The escalation job's loop inside the server (issue 12 acceptance): with a fixed clock it
escalates what is overdue, survives a failing pass, and stops promptly when asked."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

import api.scheduler as scheduler
from eventstore.database import Store
from projections.registry import create_tables
from tests.projections.helpers import OPTS, by, drain, new_portfolio, new_project
from workflows import gates

LATER = datetime.now(UTC) + timedelta(days=30)  # the fixed clock: every vote is overdue


async def _escalated(store: Store, project: object) -> int:
    events = await store.events.select_events(project)  # type: ignore[arg-type]
    return sum(1 for e in events if e.topic.endswith("EscalatedTo"))


async def test_the_loop_escalates_survives_a_failing_pass_and_stops_promptly(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    project = await new_project(store, await new_portfolio(store))
    await gates.request_review(
        store, project_id=project, gate="G0", evidence=[], by=by("paula"), options=OPTS
    )
    await drain(store)
    real = scheduler.escalate_once
    passes = 0

    async def first_pass_fails(s: Store, now: datetime) -> int:
        nonlocal passes
        passes += 1
        if passes == 1:
            raise ConnectionError("the database went away for a moment")
        return await real(s, now)

    monkeypatch.setattr(scheduler, "escalate_once", first_pass_fails)
    caplog.set_level(logging.ERROR)
    stop = asyncio.Event()
    job = asyncio.create_task(scheduler.run_scheduler(store, stop, lambda: LATER, 0.05))
    try:
        for _ in range(200):  # at most 10 s
            if await _escalated(store, project) >= 4:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        asked = time.monotonic()
        await asyncio.wait_for(job, 5)
        stopped_in = time.monotonic() - asked
    assert await _escalated(store, project) == 4  # three votes and the chair's decision
    assert passes >= 2  # it went on after the failing pass
    assert any("escalation pass failed" in r.getMessage() for r in caplog.records)
    assert stopped_in < 1.0  # not a whole interval, let alone a hang
    # later passes found nothing new: each (item, due date) escalates once
    await drain(store)
    assert await real(store, LATER) == 0
