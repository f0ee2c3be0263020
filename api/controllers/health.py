"""GET /health: liveness, database reachability, and events the read models set aside."""

from __future__ import annotations

from litestar import Response, get

from api.schemas import Health, SetAsideEvent
from eventstore.database import Store
from projections.set_aside import listed


@get("/health", operation_id="health", tags=["health"], summary="Liveness and database")
async def health(store: Store) -> Response[Health]:
    """503 ``degraded`` when the database is unreachable, or when a read model set an
    event aside (``set_aside`` names each one: its reads lack that event until it is
    re-applied with ``gateledger set-aside retry`` or a rebuild)."""
    try:
        position = await store.events.max_notification_id()
        entries = await listed(store.pool, store.names)
    except Exception as exc:  # the point of this route is to report it
        return Response(Health("degraded", f"unreachable: {exc}", None), status_code=503)
    if not entries:
        return Response(Health("ok", "reachable", position))
    events = [
        SetAsideEvent(
            e.projection,
            e.position,
            e.originator_id,
            e.topic.rsplit(":", 1)[-1],
            e.error,
            e.first_failed_at,
            e.attempts,
        )
        for e in entries
    ]
    return Response(Health("degraded", "reachable", position, events), status_code=503)
