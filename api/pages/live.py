"""Live updates for the pages: the API's event stream (``GET /api/v1/events/stream``)
for the signed-in person, at ``/live`` so a browser's ``EventSource`` (which sends the
session cookie, never an Authorization header) can open it. pages.js listens on pages
with a ``data-live`` region and, on each event, fetches the page again (with
``min_position``, so it shows that event) and swaps the region in."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import HeaderParameter, Parameter
from litestar.response import ServerSentEvent

from domain.bounds import MAX_POSITION
from eventstore.database import Store


class LivePage(Controller):
    include_in_schema = False

    @get("/live", operation_id="pageLive", media_type="text/event-stream")
    async def live(
        self,
        request: Request,
        store: Store,
        until: Annotated[int | None, Parameter(ge=0, le=MAX_POSITION)] = None,
        last_event_id: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", max_length=40)
        ] = None,
    ) -> ServerSentEvent:
        """The same messages as the API's stream: ``id`` the position, ``data`` a
        ``FeedEvent``; resumed after ``Last-Event-ID`` when the browser reconnects."""
        from api.controllers.events import open_stream  # api.access imports the pages

        viewer = request.state.viewer  # the guard's (api.access.Viewer)
        return await open_stream(request, viewer, store, last_event_id, None, until)
