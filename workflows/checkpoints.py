"""The checkpoint job: sign the chain's head every N events or M minutes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from eventstore.checkpoints import CheckpointKey, latest_position, take_checkpoint
from eventstore.database import Store
from eventstore.errors import CONNECTION_ERRORS

log = logging.getLogger(__name__)


async def keep_checkpoints(
    store: Store,
    key: CheckpointKey,
    stop: asyncio.Event,
    *,
    every_events: int,
    interval_s: float,
    poll_s: float = 5.0,
) -> None:
    """Until ``stop``: sign the head when it is ``every_events`` past the last
    checkpoint, or when it moved and ``interval_s`` passed since the last one. Several
    servers may run this at once: a head is signed once (its position is the key)."""
    last_at = time.monotonic()
    while not stop.is_set():
        try:
            head = await store.events.max_notification_id() or 0
            last = await latest_position(store.pool, store.names)
            due = head - last >= every_events or (
                head > last and time.monotonic() - last_at >= interval_s
            )
            if due:
                cp = await take_checkpoint(store.pool, store.names, key)
                last_at = time.monotonic()
                if cp is not None:
                    log.info("signed checkpoint at position %d", cp.position)
        except (OSError, *CONNECTION_ERRORS) as exc:
            log.warning("checkpoint job: database unavailable (%s); retrying", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)
