"""Live updates: one poller per process follows the audit trail and fans new events out
to the open event streams (``GET /events/stream``), each filtered to what its person
may see.

The poller wakes on the store's NOTIFY (sent by every append) and then looks a few
times in quick succession, since the audit projection applies an event a moment after
it is appended; it also looks every ``GATELEDGER_STREAM_POLL`` seconds. It reads each
new row once, and asks once per person with an open stream which of them that person
sees (``projections.audit.feed``), whatever the number of their streams.

A stream starts after the position the client names (``Last-Event-ID``, or ``?after=``)
or, without one, at the feed's current head. The rows between that position and the
head come from the database (visible ones only); later rows from the poller, in order,
each once. A stream whose queue overflows (a slow reader) catches up from the database
the same way. Streams end when the server stops (``close``), so a stop never waits for
them. Each person may hold ``GATELEDGER_STREAMS_PER_PERSON`` streams in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from api.access import Viewer
from api.answers import FeedEvent
from api.errors import ProblemError
from api.reads import utc_now
from api.settings import Settings
from eventstore.database import Store
from eventstore.errors import UNREACHABLE
from projections.audit import feed as queries

log = logging.getLogger(__name__)

BATCH = 500  # rows the poller reads at once
PAGE = 200  # rows a stream reads at once while it catches up from the database
QUEUE = 2000  # rows a stream may have waiting before it catches up from the database
EAGER_S, EAGER_FOR_S = 0.05, 2.0  # after a NOTIFY: look this often, for this long

_encode = msgspec.json.Encoder().encode


def event_of(row: dict[str, Any]) -> FeedEvent:
    """An audit row as the event the stream and webhooks send."""
    return msgspec.convert(row, FeedEvent, from_attributes=False, strict=False)


def event_json(row: dict[str, Any]) -> bytes:
    """The event's JSON (``FeedEvent``): the data of one SSE message."""
    return _encode(event_of(row))


class Subscription:
    """One open stream: who it is for, and the rows waiting for it."""

    def __init__(self, viewer: Viewer, start: int, until: int | None = None) -> None:
        self.person = viewer.person
        self.until = until  # end once the stream has passed this position
        self.everything = viewer.everything
        self.start = start  # the feed's head when it opened: later rows come queued
        self.queue: deque[dict[str, Any]] = deque()
        self.overflowed = False
        self.wake = asyncio.Event()

    def push(self, row: dict[str, Any]) -> None:
        if len(self.queue) >= QUEUE:
            self.overflowed = True
        elif not self.overflowed:
            self.queue.append(row)
        self.wake.set()


class EventFeed:
    """The process's poller and its subscribers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.head = 0  # every row up to here has been handed to the streams
        self.ready = asyncio.Event()  # the head is known
        self.closing = asyncio.Event()
        self._subs: set[Subscription] = set()
        self._open: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._eager_until = 0.0

    # -- subscribers ---------------------------------------------------------------------

    def subscribe(self, viewer: Viewer, until: int | None = None, start: int = 0) -> Subscription:
        """A new stream for ``viewer``, whose queue takes the rows after ``start`` (or the
        feed's head, if later): 429 beyond the per-person cap, 503 when stopping."""
        if self.closing.is_set():
            raise ProblemError(
                503, "the server is stopping", slug="stopping", headers={"Retry-After": "1"}
            )
        cap = self.settings.streams_per_person
        if self._open[viewer.person] >= cap:
            raise ProblemError(
                429,
                f"you already have {cap} open event streams on this server "
                "(GATELEDGER_STREAMS_PER_PERSON); close one first",
                slug="too-many-streams",
                headers={"Retry-After": "5"},
            )
        sub = Subscription(viewer, max(self.head, start), until)
        self._subs.add(sub)
        self._open[viewer.person] += 1
        self._wake.set()  # an idle poller starts following
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.discard(sub)
            self._open[sub.person] -= 1
            if self._open[sub.person] <= 0:
                del self._open[sub.person]

    def open_streams(self, person: str) -> int:
        return self._open.get(person, 0)

    def open(self) -> None:
        """Take streams again (an app's lifespan may start again after a stop)."""
        self.closing.clear()
        self.ready.clear()

    def close(self) -> None:
        """End every stream (the server is stopping); new ones get 503."""
        self.closing.set()
        for sub in list(self._subs):
            sub.wake.set()

    # -- the poller ----------------------------------------------------------------------

    async def run(self, store: Store, stop: asyncio.Event) -> None:
        """Follow the audit trail until ``stop`` is set, holding a connection (and
        listening) only while streams are open."""
        while not stop.is_set():
            try:
                if not self.ready.is_set():
                    pool = store.pool
                    self.head = await queries.tracked_position(pool, store.names, visibility=True)
                    self.ready.set()
                if not self._subs:
                    self._wake.clear()
                    await _wait(stop, self._wake, self.settings.stream_poll_s)
                    continue
                await self._follow(store, stop)
            except UNREACHABLE as exc:
                log.warning("event feed lost its connection (%s); retrying", exc)
                await _wait(stop, self._wake, self.settings.stream_poll_s)
            except Exception:
                log.exception("event feed failed; retrying")
                await _wait(stop, self._wake, max(self.settings.stream_poll_s, 5.0))

    async def _follow(self, store: Store, stop: asyncio.Event) -> None:
        async with store.pool.acquire() as conn:
            await conn.add_listener(store.names.channel, self._notified)
            try:
                while not stop.is_set() and self._subs:
                    self._wake.clear()
                    moved = await self.poll(conn, store)
                    if moved:
                        continue
                    eager = time.monotonic() < self._eager_until
                    await _wait(stop, self._wake, EAGER_S if eager else self.settings.stream_poll_s)
            finally:
                with contextlib.suppress(Exception):
                    await conn.remove_listener(store.names.channel, self._notified)

    async def poll(self, conn: Any, store: Store) -> bool:
        """Hand the rows after the head to the streams; True if a full batch was read."""
        tracked = await queries.tracked_position(conn, store.names, visibility=True)
        if not self._subs:
            self.head = max(self.head, tracked)
            return False
        # rows no stream's queue takes (each takes those after its start) are skipped
        self.head = max(self.head, min(s.start for s in self._subs))
        if tracked <= self.head:
            return False
        rows = await queries.rows_between(conn, store.names, self.head, tracked, BATCH)
        upto = rows[-1]["position"] if len(rows) == BATCH else tracked
        at = utc_now()
        seen: dict[str, set[int]] = {}
        for person in {s.person for s in self._subs if not s.everything}:
            seen[person] = await queries.visible_positions(
                conn, store.names, person, at, self.head, upto
            )
        for sub in list(self._subs):
            mine = seen.get(sub.person, set())
            for row in rows:
                if row["position"] > sub.start and (sub.everything or row["position"] in mine):
                    sub.push(row)
        self.head = upto
        for sub in self._subs:
            if sub.until is not None:
                sub.wake.set()  # it may have passed its end without a row for it
        return len(rows) == BATCH

    def _notified(self, *_: object) -> None:
        self._eager_until = time.monotonic() + EAGER_FOR_S
        self._wake.set()

    # -- one stream ----------------------------------------------------------------------

    async def response(
        self, store: Store, viewer: Viewer, after: int | None, until: int | None = None
    ) -> ServerSentEvent:
        """The SSE response of one new stream (subscribed now: 429 or 503 come here),
        from ``after``, or from the events the read models hold now; with ``until``, it
        ends once it has passed that position."""
        now = await queries.tracked_position(store.pool, store.names, visibility=True)
        sub = self.subscribe(viewer, until, start=now)  # up to now: from the database
        if after is None:
            after = now
        return ServerSentEvent(
            self._messages(store, sub, after),
            headers={"X-Accel-Buffering": "no"},  # nginx: pass each message on at once
        )

    async def _messages(
        self, store: Store, sub: Subscription, after: int
    ) -> AsyncIterator[ServerSentEventMessage]:
        try:
            yield ServerSentEventMessage(data=None, comment="gateledger events")
            last = after
            end = sub.start if sub.until is None else min(sub.start, sub.until)
            async for row in self._from_database(store, sub, last, end):
                last = row["position"]
                yield _message(row)
            last = max(last, end)
            heartbeat = self.settings.stream_heartbeat_s
            while not self.closing.is_set():
                if sub.overflowed:
                    upto, last_before = self.head, last
                    sub.queue.clear()
                    sub.overflowed = False
                    async for row in self._from_database(store, sub, last_before, upto):
                        last = row["position"]
                        yield _message(row)
                    last = max(last, upto)
                while sub.queue and not sub.overflowed and not _past(sub, sub.queue[0]):
                    row = sub.queue.popleft()
                    if row["position"] > last:
                        last = row["position"]
                        yield _message(row)
                if sub.until is not None and (
                    max(last, self.head) >= sub.until or (sub.queue and _past(sub, sub.queue[0]))
                ):
                    return
                if sub.queue or sub.overflowed or self.closing.is_set():
                    continue
                sub.wake.clear()
                try:
                    await asyncio.wait_for(sub.wake.wait(), heartbeat)
                except TimeoutError:
                    yield ServerSentEventMessage(data=None, comment="heartbeat")
        finally:
            self.unsubscribe(sub)

    async def _from_database(
        self, store: Store, sub: Subscription, after: int, upto: int
    ) -> AsyncIterator[dict[str, Any]]:
        """The rows in ``(after, upto]`` the stream's person sees, page by page."""
        while after < upto and not self.closing.is_set():
            if sub.everything:
                rows = await queries.rows_between(store.pool, store.names, after, upto, PAGE)
            else:
                rows = await queries.visible_rows_between(
                    store.pool, store.names, sub.person, utc_now(), after, upto, PAGE
                )
            for row in rows:
                yield row
            if len(rows) < PAGE:
                return
            after = rows[-1]["position"]


def _past(sub: Subscription, row: dict[str, Any]) -> bool:
    return sub.until is not None and row["position"] > sub.until


def _message(row: dict[str, Any]) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=event_json(row).decode(), id=row["position"])


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
