"""GET /health: liveness and database reachability."""

from __future__ import annotations

from litestar import Response, get

from api.schemas import Health
from eventstore.database import Store


@get("/health", operation_id="health", tags=["health"], summary="Liveness and database")
async def health(store: Store) -> Response[Health]:
    try:
        position = await store.events.max_notification_id()
    except Exception as exc:  # the point of this route is to report it
        return Response(Health("degraded", f"unreachable: {exc}", None), status_code=503)
    return Response(Health("ok", "reachable", position))
