"""The checkpoint job: sign the chain's head every N events or M minutes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from eventstore.checkpoints import (
    Checkpoint,
    CheckpointKey,
    CheckpointRefused,
    latest_position,
    take_checkpoint,
)
from eventstore.database import Store
from eventstore.errors import UNREACHABLE

log = logging.getLogger(__name__)


async def checkpoint_if_due(
    store: Store, key: CheckpointKey, *, every_events: int, interval_s: float, idle_s: float
) -> Checkpoint | None:
    """Sign the head if it is ``every_events`` past the last checkpoint, or if it moved
    and ``idle_s`` (seconds since this job last signed) reached ``interval_s``."""
    head = await store.events.max_notification_id() or 0
    last = await latest_position(store.pool, store.names)
    if head - last >= every_events or (head > last and idle_s >= interval_s):
        return await take_checkpoint(store.pool, store.names, key)
    return None


async def keep_checkpoints(
    store: Store,
    key: CheckpointKey,
    stop: asyncio.Event,
    *,
    every_events: int,
    interval_s: float,
    poll_s: float = 5.0,
) -> None:
    """Until ``stop``: ``checkpoint_if_due`` every ``poll_s``. Several servers may run
    this at once: a head is signed once (its position is the key)."""
    last_at = time.monotonic()
    forged: set[str] = set()
    while not stop.is_set():
        try:
            cp = await checkpoint_if_due(
                store,
                key,
                every_events=every_events,
                interval_s=interval_s,
                idle_s=time.monotonic() - last_at,
            )
            if cp is not None:
                last_at = time.monotonic()
                log.info("signed checkpoint at position %d", cp.position)
        except CheckpointRefused as exc:  # said once; verify reports it too
            if str(exc) not in forged:
                forged.add(str(exc))
                log.error("checkpoint job: %s", exc)
        except UNREACHABLE as exc:
            log.warning("checkpoint job: database unavailable (%s); retrying", exc)
        except Exception:  # a statement timeout, a busy database: the next pass retries
            log.exception("checkpoint job: a pass failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)
