"""Rebuilding one aggregate from its stored events: now, or as it stood at a position/time.

Generic: it resolves event classes by their stored topic and knows no domain class.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventstore.database import Store


async def load_aggregate(store: Store, originator_id: UUID) -> Any | None:
    """The aggregate's current state: latest snapshot, then the events after it."""
    snapshot = await store.snapshots.latest(originator_id)
    aggregate: Any = None
    gt = None
    if snapshot is not None:
        aggregate = store.mapper.to_domain_event(snapshot).mutate(None)
        gt = snapshot.originator_version
    for stored in await store.events.select_events(originator_id, gt=gt):
        aggregate = store.mapper.to_domain_event(stored).mutate(aggregate)
    return aggregate


async def load_aggregate_as_of(
    store: Store,
    originator_id: UUID,
    *,
    position: int | None = None,
    at: datetime | None = None,
) -> tuple[Any | None, int | None]:
    """The aggregate as it stood at an event position or a time, and the position used.

    Returns ``(None, None)`` when the aggregate did not exist yet.
    """
    notes = await store.events.select_originator_notifications(originator_id, lte_position=position)
    aggregate: Any = None
    last: int | None = None
    for note in notes:
        domain_event = store.mapper.to_domain_event(note)
        if at is not None and domain_event.timestamp > at:
            break
        aggregate = domain_event.mutate(aggregate)
        last = note.id
    return aggregate, last
