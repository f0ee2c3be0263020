"""Re-apply set-aside events after a fix (``gateledger set-aside retry``).

Out of the log's order: the handler runs on the read model's current rows, which later
events have already changed. A rebuild is the in-order alternative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventstore.database import Store
from eventstore.recorder import select_event_rows_on
from projections.engine.read_model import Projection
from projections.engine.set_aside import (
    TABLE,
    Failure,
    SetAside,
    apply_each,
    error_text,
    listed,
    record,
)
from projections.engine.tracking import lock_position


@dataclass(frozen=True)
class Retried:
    entry: SetAside
    error: str | None  # None: applied (or no longer needed) and marked resolved


async def retry(
    store: Store,
    projections: Sequence[Projection],
    *,
    projection: str | None = None,
    position: int | None = None,
) -> list[Retried]:
    """Re-apply unresolved set-aside events, in position order, to the read model's
    CURRENT rows (later events were applied already: this is out of the log's order);
    each one that applies is marked resolved, each one that fails again stays."""
    known = {p.name: p for p in projections}
    done: list[Retried] = []
    for entry in await listed(store.pool, store.names):
        if projection is not None and entry.projection != projection:
            continue
        if (position is not None and entry.position != position) or entry.projection not in known:
            continue
        done.append(await _retry_one(store, known[entry.projection], entry))
    return done


async def _retry_one(store: Store, projection: Projection, entry: SetAside) -> Retried:
    names, t = store.names, store.names.q(TABLE)
    async with store.pool.acquire() as conn, conn.transaction():
        # The tracking row's lock keeps the live projector (and a rebuild's switch) out.
        reached = await lock_position(conn, names, projection.name)
        rows = await select_event_rows_on(conn, names, entry.position - 1, 1)
        failed: list[Failure] = []
        if reached >= entry.position and rows and rows[0][0] == entry.position:
            failed = await apply_each(conn, names, projection, rows)
        # else: the read model has not reached it (it was reset): it will apply it in order
        if failed:
            error = error_text(failed[0][1])
            await record(conn, names, projection.name, rows[0], error)
            return Retried(entry, error)
        await conn.execute(
            f"UPDATE {t} SET resolved_at = now() WHERE projection = $1 AND position = $2",
            projection.name,
            entry.position,
        )
    return Retried(entry, None)
