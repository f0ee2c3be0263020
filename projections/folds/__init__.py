"""Folds: how events turn into the plain-JSON documents of portfolios, projects, change
requests and sign-off requests. A library, not a read model: the read models that show
these documents (projects, portfolios, requests) and the inbox (which needs all of them
to say who owes what) each keep their own, folded by the same handlers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventstore.database import Store
from projections.engine.events import Change, to_change
from projections.folds.documents import STATE_HANDLERS, Batch
from projections.folds.requests import SUBJECT_HANDLERS

HANDLERS: dict[str, Callable[[Batch, Change], None]] = {**STATE_HANDLERS, **SUBJECT_HANDLERS}


def aggregate_of(change: Change) -> str:
    """The aggregate part of the event's stored name (``Project`` of ``Project.VoteCast``)."""
    return change.key.partition(".")[0]


def apply_changes(
    batch: Batch,
    changes: Sequence[Change],
    failed: list[tuple[Change, Exception]] | None = None,
    aggregates: Collection[str] | None = None,
) -> None:
    """Apply changes, in order, to the documents in ``batch`` (only the events of
    ``aggregates``, if given). With ``failed``, a change whose handler raises is added to
    it and the next one is applied (whatever the handler changed before it raised stays:
    a rebuild's in-memory documents have no rollback); without, the error propagates."""
    for change in changes:
        if aggregates is not None and aggregate_of(change) not in aggregates:
            continue
        handler = HANDLERS.get(change.key)
        if handler is None:
            continue
        if failed is None:
            handler(batch, change)
            continue
        try:
            handler(batch, change)
        except Exception as exc:
            failed.append((change, exc))


async def fold_as_of(
    store: Store,
    aggregate_ids: Iterable[UUID],
    *,
    position: int | None = None,
    at: datetime | None = None,
) -> tuple[Batch, list[Change]]:
    """The documents of these aggregates as they stood at a position or a time: their
    events up to then, in log order, folded in memory (nothing is written); and those
    events."""
    notes: list[Any] = []
    for aggregate_id in aggregate_ids:
        notes += await store.events.select_originator_notifications(
            aggregate_id, lte_position=position
        )
    changes = sorted((to_change(n) for n in notes), key=lambda c: c.position)
    if at is not None:
        changes = [c for c in changes if c.at <= at]
    batch = Batch()
    apply_changes(batch, changes)
    return batch, changes
