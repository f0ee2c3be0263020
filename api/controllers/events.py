"""Live updates: a server-sent event stream of new events the caller may see."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import HeaderParameter, Parameter
from litestar.response import ServerSentEvent

from api.access import Viewer
from api.errors import ProblemError
from api.feed import EventFeed
from domain.bounds import MAX_POSITION
from eventstore.database import Store


def _resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """``Last-Event-ID`` (what a browser sends when it reconnects) wins over ``?after=``."""
    if last_event_id is None or not last_event_id.strip():
        return after
    text = last_event_id.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ProblemError(
            422,
            f"Last-Event-ID must be an event's position (a whole number), not {text[:40]!r}",
            slug="validation",
        )
    return int(text)


class EventStream(Controller):
    path = "/events"
    tags = ["events"]

    @get(
        "/stream",
        operation_id="streamEvents",
        summary="Server-sent events of new events the caller may see",
        media_type="text/event-stream",
    )
    async def stream(
        self,
        request: Request,
        viewer: Viewer,
        store: Store,
        after: Annotated[
            int | None,
            Parameter(
                ge=0,
                le=MAX_POSITION,
                description="start after this position (Last-Event-ID, if sent, wins)",
            ),
        ] = None,
        until: Annotated[
            int | None,
            Parameter(
                ge=0,
                le=MAX_POSITION,
                description="end the stream once it has passed this position",
            ),
        ] = None,
        last_event_id: Annotated[
            str | None,
            HeaderParameter(
                name="Last-Event-ID", max_length=40, description="resume after this position"
            ),
        ] = None,
    ) -> ServerSentEvent:
        """Each message's ``id`` is the event's position and its ``data`` one event as
        JSON (``FeedEvent``); comment lines are heartbeats. Without ``Last-Event-ID``
        or ``after``, the stream starts with the events appended from now on. With
        ``until``, it ends once it has sent what the caller sees up to that position
        (a bounded catch-up); otherwise it ends only when the client or server stops."""
        return await open_stream(request, viewer, store, last_event_id, after, until)


async def open_stream(
    request: Request,
    viewer: Viewer,
    store: Store,
    last_event_id: str | None,
    after: int | None,
    until: int | None,
) -> ServerSentEvent:
    """One new stream of what ``viewer`` may see (the API's route and the pages' ``/live``)."""
    start = _resume_point(last_event_id, after)
    if start is not None and start > (head := await store.events.max_notification_id() or 0):
        # never handed out (a log restored from an older backup, a typo): resuming there
        # would skip, silently, every event until the log reached it
        raise ProblemError(
            422,
            f"cannot resume after position {start}: it is past the end of the log "
            f"(position {head})",
            slug="validation",
        )
    feed: EventFeed = request.app.state.feed
    settings = request.app.state.settings
    try:
        await asyncio.wait_for(feed.ready.wait(), settings.min_position_wait_s)
    except TimeoutError:
        raise ProblemError(
            503,
            "live updates are starting; retry shortly",
            slug="not-ready",
            headers={"Retry-After": "1"},
        ) from None
    return await feed.response(store, viewer, start, until)
