"""What operators and orchestrators ask a server: GET /metrics (Prometheus), GET /livez
(the process answers) and GET /readyz (it can serve: the database answers and the read
models are not far behind). ``GET /health`` (api/controllers/health.py) keeps its own
contract beside them. See docs/deploy.md."""

from __future__ import annotations

import hmac

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.errors import PROBLEM, Problem, ProblemError
from api.metrics import CONTENT_TYPE, database_gauges, exposition, process_metrics
from api.schemas import Liveness, Readiness, ReadModelLag
from api.settings import Settings
from eventstore.database import Store
from projections.registry import all_projections


@get(
    "/metrics",
    operation_id="metrics",
    tags=["operations"],
    summary="Metrics (Prometheus text format)",
    media_type="text/plain",  # documented so; answered with ``; version=0.0.4`` too
    responses={
        401: ResponseSpec(
            Problem,
            media_type=PROBLEM,
            generate_examples=False,
            description="GATELEDGER_METRICS_TOKEN is set and the request does not carry it "
            "as a bearer token",
        )
    },
)
async def metrics(request: Request, store: Store) -> Response[str]:
    """Request counts and latencies by route and status, group-commit batch sizes, rate
    limit refusals and database faults (this process's, or every process's with
    GATELEDGER_METRICS_DIR), and, read from the database: each read model's position, lag
    in events and seconds and set-aside events, the last checkpoint's age, and gauges
    other parts register (webhook backlog). Public unless GATELEDGER_METRICS_TOKEN is set."""
    settings: Settings = request.app.state.settings
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise ProblemError(
                401,
                "metrics need the bearer token GATELEDGER_METRICS_TOKEN names",
                headers={"WWW-Authenticate": "Bearer"},
            )
    gauges = await database_gauges(store, [p.name for p in all_projections()])
    text = exposition(process_metrics(settings.metrics_dir), gauges, store.pool)
    return Response(text, media_type=CONTENT_TYPE)


@get("/livez", operation_id="liveness", tags=["operations"], summary="Liveness")
async def liveness() -> Liveness:
    """200 while the process serves HTTP; asks nothing of the database (a database outage
    is not a reason to restart the server: it recovers by itself)."""
    return Liveness("ok")


@get(
    "/readyz",
    operation_id="readiness",
    tags=["operations"],
    summary="Readiness",
    responses={
        503: ResponseSpec(
            Readiness,
            generate_examples=False,
            description="Not ready: the database does not answer, or a read model is more "
            "than GATELEDGER_READY_MAX_LAG events behind the log",
        )
    },
)
async def readiness(request: Request, store: Store) -> Response[Readiness]:
    """200 ``ready`` when the database answers and every read model is at most
    GATELEDGER_READY_MAX_LAG events behind the log (reads would otherwise be stale, and
    ``?min_position=`` reads would wait); else 503 ``not_ready`` saying why."""
    settings: Settings = request.app.state.settings
    names = [p.name for p in all_projections()]
    n = store.names
    try:
        async with store.pool.acquire() as conn:
            head = await conn.fetchval(f"SELECT max(notification_id) FROM {n.q(n.events)}") or 0
            rows = await conn.fetch(
                f"SELECT application_name, notification_id FROM {n.q(n.tracking)} "
                "WHERE application_name = ANY($1::text[])",
                names,
            )
    except Exception as exc:  # the point of this route is to say so
        return Response(
            Readiness("not_ready", f"unreachable: {type(exc).__name__}", None, []),
            status_code=503,
        )
    positions = {name: 0 for name in names} | {r[0]: r[1] or 0 for r in rows}
    lags = [ReadModelLag(k, v, max(head - v, 0)) for k, v in sorted(positions.items())]
    behind = [lag for lag in lags if lag.lag > settings.ready_max_lag]
    if behind:
        return Response(Readiness("not_ready", "reachable", head, lags), status_code=503)
    return Response(Readiness("ready", "reachable", head, lags))
