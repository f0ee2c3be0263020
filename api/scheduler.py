"""The escalation job inside the server: overdue inbox items become Escalated events.

Safe in several processes at once: the domain refuses a second escalation of the same
(item, deadline) and the unit of work retries a lost race against fresh state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from eventstore.database import Store
from projections.inbox.queries import overdue_items
from projections.inbox.rules import escalation_item
from workflows.escalation import OverdueItem, escalate_overdue

log = logging.getLogger(__name__)

AGGREGATE_OF_KIND = {
    "vote": "project",
    "decision": "project",
    "cr_vote": "change_request",
    "cr_decision": "change_request",
    "signoff": "signoff",
    "condition": "project",  # a row per condition: the project is the aggregate
}


async def escalate_once(store: Store, now: datetime) -> int:
    """One pass: escalate every overdue item not escalated for this deadline yet (the
    inbox marks the ones that were, so a pass never reloads them)."""
    rows = await overdue_items(store.pool, store.names, now.date())
    items = [
        OverdueItem(
            project_id if kind == "condition" else subject_id,
            AGGREGATE_OF_KIND[kind],
            escalation_item(kind, person, subject_id),
            due,
        )
        for subject_id, person, kind, due, project_id in rows
        if kind in AGGREGATE_OF_KIND
    ]
    return await escalate_overdue(store, items, clock=lambda: now) if items else 0


async def run_scheduler(
    store: Store, stop: asyncio.Event, clock: Callable[[], datetime], interval: float = 60.0
) -> None:
    """Escalate overdue items every ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            written = await escalate_once(store, clock())
            if written:
                log.info("escalated %d overdue item(s)", written)
        except Exception:  # the next pass retries; the error is logged, not swallowed
            log.exception("escalation pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
