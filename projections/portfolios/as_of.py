"""The portfolio view as it stood at a position or time, rebuilt from events up to then.

The projection's own handlers are applied in memory to the portfolio's events and its
projects' events (nothing is written), then shaped like the live portfolio view.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventstore.database import Store
from projections.engine.read_model import table
from projections.folds import fold_as_of
from projections.folds.documents import Batch
from projections.inbox.rules import inbox_items
from projections.portfolios.queries import Group, shape
from projections.projects.model import PROJECTS
from projections.requests.model import SUBJECTS


async def portfolio_view_as_of(
    store: Store, portfolio_id: UUID, *, position: int | None = None, at: datetime | None = None
) -> dict[str, Any] | None:
    """None when the portfolio did not exist at that point."""
    async with store.pool.acquire() as conn:
        project_ids = [
            r[0]
            for r in await conn.fetch(
                f"SELECT project_id FROM {table(store.names, PROJECTS)} WHERE portfolio_id = $1 "
                f"UNION ALL SELECT subject_id FROM {table(store.names, SUBJECTS)} "
                "WHERE portfolio_id = $1",
                portfolio_id,
            )
        ]
    ids = (portfolio_id, *project_ids)
    batch, changes = await fold_as_of(store, ids, position=position, at=at)
    doc = batch.portfolios.get(portfolio_id)
    if doc is None:
        return None
    when = at or (changes[-1].at if changes else None)
    view = shape(portfolio_id, doc, _groups(batch), _pending(batch, when))
    view["as_of_position"] = changes[-1].position if changes else None
    return view


def _groups(batch: Batch) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    for doc in batch.projects.values():
        key = (doc["stage"], doc["status"])
        _, _, n, budget, approved, days = groups.get(key, (*key, 0, Decimal(0), Decimal(0), 0))
        groups[key] = (
            *key,
            n + 1,
            budget + Decimal(doc["budget"]),
            approved + Decimal(doc["approved_cost"]),
            days + doc["approved_schedule_days"],
        )
    return list(groups.values())


def _pending(batch: Batch, when: datetime | None) -> dict[str, int]:
    items = [i for sid in [*batch.projects, *batch.subjects] for i in inbox_items(batch, sid)]
    today = when.date() if when else None
    overdue = sum(1 for i in items if today and i[6] is not None and i[6] < today)
    return {"pending": len(items), "overdue": overdue}
