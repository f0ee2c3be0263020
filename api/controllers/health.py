"""GET /health: liveness, database reachability, and events the read models set aside."""

from __future__ import annotations

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.schemas import Health, ReadModelAhead, SetAsideEvent
from eventstore.database import Store
from projections.engine.set_aside import listed
from projections.engine.tracking import positions_past


@get(
    "/health",
    operation_id="health",
    tags=["health"],
    summary="Liveness and database",
    responses={
        503: ResponseSpec(
            Health,
            generate_examples=False,
            description="Degraded: the database is unreachable, a read model set events aside, "
            "or one claims a position past the log's end",
        )
    },
)
async def health(store: Store) -> Response[Health]:
    """503 ``degraded`` when the database is unreachable, or when a read model set an
    event aside (``set_aside`` names each one: its reads lack that event until it is
    re-applied with ``gateledger set-aside retry`` or a rebuild), or when a read model
    claims a position past the log's end (``ahead_of_log``: it would skip the events that
    take those positions; rebuild it)."""
    try:
        position = await store.events.max_notification_id()
        entries = await listed(store.pool, store.names)
        ahead = await positions_past(store.pool, store.names, position or 0)
    except Exception as exc:  # the point of this route is to report it
        return Response(Health("degraded", f"unreachable: {exc}", None), status_code=503)
    past = [ReadModelAhead(name, at) for name, at in ahead]
    if not entries and not past:
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
    return Response(Health("degraded", "reachable", position, events, past), status_code=503)
