"""Rebuilding one aggregate from its stored events: now, or as it stood at a position/time.

Generic: it resolves event classes by their stored topic and knows no domain class.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from eventstore.database import Store

CACHED_AGGREGATES = 2000  # per process; a project with a review open is a few kB


class AggregateCache:
    """Aggregates this process loaded or saved, at the version it last saw, so that a
    load reads only the events after it (as eventsourcing's application does with its
    aggregate cache and ``fastforward``). Every load still asks the store for newer
    events, so writes by other processes are never missed; entries only save decoding.

    Entries are never handed out: a load gets a shallow copy, which the caller may
    change freely, because aggregates replace their attributes' values (tuples, frozen
    value objects) and never change them in place. Least recently used entries go first
    beyond ``size``.
    """

    def __init__(self, size: int = CACHED_AGGREGATES) -> None:
        self.size = size
        self._entries: OrderedDict[UUID, Any] = OrderedDict()

    def get(self, originator_id: UUID) -> Any | None:
        """The cached aggregate itself (not to be changed), or None."""
        found = self._entries.get(originator_id)
        if found is not None:
            self._entries.move_to_end(originator_id)
        return found

    def put(self, aggregate: Any) -> None:
        """Remember ``aggregate`` (a saved or fresh one, no pending events) unless a
        newer version is cached; the caller must not change it afterwards."""
        if self.size <= 0 or aggregate._pending_events:
            return
        cached = self._entries.get(aggregate.id)
        if cached is not None and cached.version >= aggregate.version:
            return
        self._entries[aggregate.id] = aggregate
        self._entries.move_to_end(aggregate.id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, originator_id: UUID) -> None:
        self._entries.pop(originator_id, None)

    def __len__(self) -> int:
        return len(self._entries)


def handed_out(aggregate: Any) -> Any:
    """A copy of a cached aggregate that its caller may change (see ``AggregateCache``)."""
    mine = copy.copy(aggregate)
    mine._pending_events = []
    return mine


async def load_aggregate(store: Store, originator_id: UUID) -> Any | None:
    """The aggregate's current state: the cached one (else the latest snapshot), then the
    events after it; a copy the caller may change."""
    cache = store.aggregates
    cached = cache.get(originator_id)
    if cached is not None:
        newer = await store.events.select_events(originator_id, gt=cached.version)
        return _forward(store, originator_id, cached, newer)
    snapshot, events = await store.events.select_latest(originator_id, store.snapshots.table)
    aggregate: Any = None
    if snapshot is not None:
        aggregate = store.mapper.to_domain_event(snapshot).mutate(None)
    for stored in events:
        aggregate = store.mapper.to_domain_event(stored).mutate(aggregate)
    if aggregate is None:
        return None
    cache.put(aggregate)
    return handed_out(aggregate)


def _forward(store: Store, originator_id: UUID, cached: Any, newer: Sequence[Any]) -> Any:
    """A copy of the cached aggregate moved on by its newer stored events (cached again)."""
    cache = store.aggregates
    cached = cache.get(originator_id) or cached  # another task may have moved it on
    if newer and newer[-1].originator_version > cached.version:
        moved = handed_out(cached)
        for stored in newer:
            if stored.originator_version > moved.version:
                moved = store.mapper.to_domain_event(stored).mutate(moved)
        cache.put(moved)
        return handed_out(moved)
    return handed_out(cached)


async def load_cached_aggregates(store: Store, ids: Sequence[UUID]) -> list[Any] | None:
    """Several aggregates this process has cached, each as ``load_aggregate`` gives it,
    with the newer events of all of them read in one statement (a vote needs its project
    and its portfolio); None, and nothing read, unless every one is cached."""
    cache = store.aggregates
    cached: list[Any] = [cache.get(i) for i in ids]
    if any(c is None for c in cached):
        return None
    newer = await store.events.select_events_after_each(
        [(i, c.version) for i, c in zip(ids, cached, strict=True)]
    )
    return [_forward(store, i, c, newer.get(i, [])) for i, c in zip(ids, cached, strict=True)]


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
