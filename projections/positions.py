"""Read-your-writes: wait (bounded) until every projection has applied a position."""

from __future__ import annotations

import asyncio
import time

from eventstore.database import Store
from projections.registry import all_projections


async def lowest_position(store: Store, only: str | None = None) -> int:
    """The position every projection (or the one named ``only``) has reached."""
    t = store.names.q(store.names.tracking)
    names = [only] if only else [p.name for p in all_projections()]
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT application_name, notification_id FROM {t} "
            "WHERE application_name = ANY($1::text[])",
            names,
        )
    found = {r[0]: r[1] for r in rows}
    return min(found.get(n, 0) or 0 for n in names)


async def wait_for_position(
    store: Store, position: int, seconds: float, only: str | None = None
) -> bool:
    """True once every projection (or the one named ``only``) reached ``position``;
    False after ``seconds``."""
    deadline = time.monotonic() + seconds
    delay = 0.005
    while True:
        if await lowest_position(store, only) >= position:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)
