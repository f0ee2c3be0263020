"""The webhook dispatcher: a background job that delivers each subscription's events,
signed, at least once, in log order, retrying with exponential backoff.

One process dispatches at a time: the one holding the dispatcher's advisory lock (a
session lock, as the projector holds its own; a standby takes over when the holder's
connection goes away). Each subscription is served by its own task, so a receiver that
fails or hangs holds up only its own subscription:

1. its oldest pending delivery, if any, is sent once it is due: a 2xx answer marks it
   delivered; anything else (an error, a timeout, another status) is recorded as a
   failed attempt and it is due again after ``first * 2**(attempts-1)`` seconds (up to
   ``GATELEDGER_WEBHOOK_RETRY_MAX``, with up to 10% added at random), and nothing after
   it is sent before it succeeds;
2. with none pending, the events after the subscription's position that it wants (its
   types and portfolio) become pending deliveries, and the position moves past them,
   in one transaction (``api.webhook_store``).

Events come from the audit trail (``projections.audit.feed``), as far as the audit
projection has applied the log. A body is made once, when the delivery is queued, and
sent unchanged on every try and redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import msgspec

from api.feed import event_of
from api.outbound import check_destination, sign
from api.settings import Settings
from api.webhook_deliveries import oldest_pending, record_attempt
from api.webhook_store import DELIVERIES, HOOKS, active, any_active
from eventstore.database import Store
from eventstore.errors import UNREACHABLE
from projections.audit import feed as queries
from projections.engine.read_model import lock_key

log = logging.getLogger(__name__)

CHANNEL = "gl_webhooks"  # NOTIFY: a subscription or redelivery to look at now
SCAN = 500  # events read at once after a subscription's position
EAGER_S, EAGER_FOR_S = 0.05, 2.0  # after a NOTIFY: look this often, for this long
ERROR_CHARS = 500
USER_AGENT = "Gateledger-Webhooks/1"
# The first uses: escalations, and gate and change request decisions.
DEFAULT_TYPES = ("*.EscalatedTo", "Project.GateDecided", "ChangeRequest.Decided")

_encode = msgspec.json.Encoder().encode


def wants(types: Sequence[str], portfolio_id: UUID | None, row: dict[str, Any]) -> bool:
    """Whether a subscription with these types (patterns, ``*`` any text) and portfolio
    wants the event of this audit row."""
    if portfolio_id is not None and row["portfolio_id"] != portfolio_id:
        return False
    return any(fnmatch.fnmatchcase(row["type"], t) for t in types)


def body_of(row: dict[str, Any]) -> bytes:
    """What is posted for an event: ``{"type", "timestamp", "data"}`` (Standard Webhooks'
    envelope), the data being the event as the stream sends it (``FeedEvent``)."""
    event = event_of(row)
    return _encode({"type": event.type, "timestamp": event.at, "data": event})


async def wake(store: Store) -> None:
    """Ask the dispatcher (in whichever process) to look now."""
    async with store.pool.acquire() as conn:
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)


class Dispatcher:
    """Delivers while it holds the dispatcher's lock (see the module's docstring)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.active = False
        self._wake = asyncio.Event()
        self._eager_until = 0.0
        self._serving: dict[UUID, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; with no subscription, hold no connection or lock."""
        while not stop.is_set():
            try:
                if not await any_active(self.store.pool, self.store.names):
                    await _wait(stop, self._wake, self.settings.webhook_poll_s)
                    continue
                await self._run_connected(stop)
            except UNREACHABLE as exc:
                log.warning("webhook dispatcher lost its connection (%s); retrying", exc)
                await _wait(stop, self._wake, self.settings.webhook_poll_s)
            except Exception:
                log.exception("webhook dispatcher failed; retrying")
                await _wait(stop, self._wake, max(self.settings.webhook_poll_s, 5.0))
            finally:
                self.active = False
                await self._stop_serving()

    async def _run_connected(self, stop: asyncio.Event) -> None:
        names = self.store.names
        async with self.store.pool.acquire() as conn:
            for channel in (names.channel, CHANNEL):
                await conn.add_listener(channel, self._notified)
            try:
                key = lock_key(names, "webhooks")
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                    await _wait(stop, asyncio.Event(), self.settings.webhook_poll_s)
                    if stop.is_set():
                        return
                self.active = True
                timeout = httpx.Timeout(self.settings.webhook_timeout_s)
                async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                    while not stop.is_set() and not conn.is_closed():
                        self._wake.clear()
                        if not await self._tick(client):
                            return  # no subscription left: let the lock go
                        eager = time.monotonic() < self._eager_until
                        await _wait(
                            stop, self._wake, EAGER_S if eager else self.settings.webhook_poll_s
                        )
            finally:
                await self._stop_serving()
                for channel in (names.channel, CHANNEL):
                    with contextlib.suppress(Exception):
                        await conn.remove_listener(channel, self._notified)
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock_all()")

    async def _tick(self, client: httpx.AsyncClient) -> bool:
        """Start a task for each subscription that has none running; False if there
        are no subscriptions."""
        hooks = await active(self.store.pool, self.store.names)
        for hook in hooks:
            task = self._serving.get(hook["id"])
            if task is None or task.done():
                self._serving[hook["id"]] = asyncio.create_task(
                    self._serve(client, hook), name=f"webhook {hook['id']}"
                )
        return bool(hooks)

    async def _stop_serving(self) -> None:
        tasks, self._serving = list(self._serving.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    async def _serve(self, client: httpx.AsyncClient, hook: dict[str, Any]) -> None:
        """Deliver for one subscription until nothing is due."""
        try:
            while True:
                pending = await oldest_pending(self.store, hook["id"])
                if pending is None:
                    if not await self.enqueue(hook):
                        return
                    continue
                if pending["next_attempt_at"] > datetime.now(UTC):
                    return  # not due: nothing after it goes before it
                await self.attempt(client, hook, pending)
        except UNREACHABLE:
            raise
        except Exception:
            log.exception("webhook %s: dispatching failed", hook["id"])

    async def enqueue(self, hook: dict[str, Any]) -> int:
        """Queue the events after the subscription's position that it wants, and move
        the position past what was read; returns how many were queued (or read)."""
        names = self.store.names
        async with self.store.pool.acquire() as conn, conn.transaction():
            position = await conn.fetchval(
                f"SELECT position FROM {names.q(HOOKS)} WHERE id = $1 AND deleted_at IS NULL "
                "FOR UPDATE",
                hook["id"],
            )
            if position is None:
                return 0
            tracked = await queries.tracked_position(conn, names)
            if tracked <= position:
                return 0
            rows = await queries.rows_between(conn, names, position, tracked, SCAN)
            upto = rows[-1]["position"] if len(rows) == SCAN else tracked
            wanted = [r for r in rows if wants(hook["event_types"], hook["portfolio_id"], r)]
            await conn.executemany(
                f"INSERT INTO {names.q(DELIVERIES)} (id, webhook_id, position, event_type, "
                "body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (webhook_id, position) DO NOTHING",
                [
                    (uuid.uuid4(), hook["id"], r["position"], r["type"], body_of(r).decode())
                    for r in wanted
                ],
            )
            await conn.execute(
                f"UPDATE {names.q(HOOKS)} SET position = $2 WHERE id = $1", hook["id"], upto
            )
        return len(wanted) or len(rows)

    async def attempt(
        self, client: httpx.AsyncClient, hook: dict[str, Any], delivery: dict[str, Any]
    ) -> bool:
        """One try of one delivery, recorded; True if the receiver took it."""
        msg_id, body = str(delivery["id"]), delivery["body"].encode()
        started, at = time.monotonic(), datetime.now(UTC)
        status: int | None = None
        error: str | None = None
        try:
            await check_destination(
                hook["url"], private_allowed=self.settings.webhook_private_targets
            )
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(hook["secret"], msg_id, timestamp, body),
            }
            # Only the status is kept, so the answer's body is never read (a receiver
            # sending an endless or huge one holds neither memory nor the attempt), and
            # the whole exchange is bounded (httpx's timeout is per read: an answer
            # trickling in a byte at a time would never time out).
            async with (
                asyncio.timeout(self.settings.webhook_timeout_s),
                client.stream("POST", hook["url"], content=body, headers=headers) as answer,
            ):
                status = answer.status_code
            if not 200 <= status < 300:
                error = f"the receiver answered {status}"
        except TimeoutError:
            status = None
            error = f"the receiver did not answer within {self.settings.webhook_timeout_s:g} s"
        except (httpx.HTTPError, OSError, PermissionError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS] or type(exc).__name__
        took_ms = int((time.monotonic() - started) * 1000)
        await record_attempt(self.store, self.settings, delivery, at, status, error, took_ms)
        if error is not None:
            log.info("webhook %s: delivery %s failed: %s", hook["id"], msg_id, error)
        return error is None

    def _notified(self, *_: object) -> None:
        self._eager_until = time.monotonic() + EAGER_FOR_S
        self._wake.set()


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
