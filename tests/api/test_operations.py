"""Operations (issue 14, item 6): GET /metrics in Prometheus' text format, /livez apart
from /readyz, request and correlation ids on every answer and every log line of the
request, JSON logs, and the settings behind them. Database faults under a served server
are in tests/faults."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from api import metrics as metrics_module
from api.app import create_app
from api.errors import EXCEPTION_HANDLERS
from api.metrics import Metrics, exposition, write_snapshot
from api.observability import ContextFilter, JsonFormatter, TextFormatter
from api.settings import Settings
from eventstore.errors import PoolExhausted
from eventstore.schema import StoreNames
from projections.registry import all_projections
from tests.api.conftest import app_settings
from tests.conftest import drop_store_schema

PORTFOLIO = {
    "name": "Ops",
    "objectives": ["Run"],
    "envelope": {"amount": "1000.00", "currency": "EUR"},
    "board": {"members": ["carol", "dave", "erin"], "chair": "carol"},
}
# One sample line of the text format: name, optional {labels}, a value.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def samples(text: str) -> dict[str, float]:
    """Every sample of an exposition, ``name{labels}`` -> value; every line well formed."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


def value(found: dict[str, float], name: str, **labels: str) -> float:
    """The sample of ``name`` whose labels include ``labels`` (0 if none)."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    hits = [v for k, v in found.items() if k.split("{")[0] == name and all(w in k for w in want)]
    assert len(hits) <= 1, (name, labels, hits)
    return hits[0] if hits else 0.0


@pytest.fixture
def ops(database_url: str, schema_name: str, tmp_path: Path) -> Callable[..., AsyncTestClient[Any]]:
    """A test client on an app with these settings overrides."""

    def make(**overrides: Any) -> AsyncTestClient[Any]:
        settings = app_settings(database_url, schema_name, tmp_path, **overrides)
        return AsyncTestClient(app=create_app(settings), base_url="http://testserver.local/api/v1")

    return make


@pytest.fixture(autouse=True)
async def _drop(database_url: str, schema_name: str) -> Any:
    yield
    await drop_store_schema(database_url, schema_name)


async def test_metrics_count_answers_by_route_template_and_status(
    ops: Callable[..., AsyncTestClient[Any]], token: Callable[..., dict[str, str]]
) -> None:
    admin = token("adam", "pmo_admin")
    async with ops() as c:
        before = samples((await c.get("/metrics")).text)
        created = await c.post("/portfolios", json=PORTFOLIO, headers=admin)
        assert created.status_code == 201
        pid = created.json()["id"]
        pos = created.json()["position"]
        for _ in range(3):
            assert (
                await c.get(f"/portfolios/{pid}?min_position={pos}", headers=admin)
            ).status_code == 200
        assert (await c.get(f"/portfolios/{pid}")).status_code == 401
        assert (await c.get("/no/such/route")).status_code == 404
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    after = samples(r.text)
    route = "/api/v1/portfolios/{portfolio_id}"

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("gateledger_http_requests_total", method="GET", route=route, status="200") == 3
    assert grew("gateledger_http_requests_total", method="GET", route=route, status="401") == 1
    assert (
        grew(
            "gateledger_http_requests_total",
            method="POST",
            route="/api/v1/portfolios",
            status="201",
        )
        == 1
    )
    assert grew("gateledger_http_requests_total", route="(unmatched)", status="404") == 1
    assert pid not in r.text  # a template, never an id: no series per object
    hist = "gateledger_http_request_duration_seconds"
    assert grew(f"{hist}_count", method="GET", route=route, status="200") == 3
    bucket = f'{hist}_bucket{{method="GET",route="{route}",status="200",le="+Inf"}}'
    assert after[bucket] == value(after, f"{hist}_count", method="GET", route=route, status="200")
    assert grew("gateledger_append_batch_events_count") >= 1  # the portfolio's append
    # read from the database: the head, each read model caught up (min_position waited)
    assert value(after, "gateledger_database_up") == 1
    assert value(after, "gateledger_log_head_position") == pos
    assert value(after, "gateledger_projection_position", read_model="portfolios") == pos
    assert value(after, "gateledger_projection_lag_events", read_model="portfolios") == 0
    assert value(after, "gateledger_projection_lag_seconds", read_model="portfolios") == 0
    assert value(after, "gateledger_set_aside_events", read_model="portfolios") == 0
    assert value(after, "gateledger_db_pool_connections", state="max") == 20


async def test_projection_lag_in_events_and_seconds_and_readiness(
    ops: Callable[..., AsyncTestClient[Any]],
    token: Callable[..., dict[str, str]],
    database_url: str,
    schema_name: str,
) -> None:
    """No projector: the read models fall behind; /metrics says by how much, /readyz is
    503 past GATELEDGER_READY_MAX_LAG and 200 within it; /livez is 200 throughout."""
    admin = token("adam", "pmo_admin")
    async with ops(run_projector=False, ready_max_lag=1) as c:
        assert (await c.get("/readyz")).status_code == 200  # an empty log: nothing behind
        for _ in range(2):
            assert (await c.post("/portfolios", json=PORTFOLIO, headers=admin)).status_code == 201
        ready = await c.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready" and body["position"] == 2
        assert {m["read_model"]: m["lag"] for m in body["read_models"]}["portfolios"] == 2
        assert (await c.get("/livez")).json() == {"status": "ok"}
        found = samples((await c.get("/metrics")).text)
        assert value(found, "gateledger_projection_lag_events", read_model="audit") == 2
        assert value(found, "gateledger_projection_lag_seconds", read_model="audit") > 0
        assert value(found, "gateledger_checkpoint_lag_events") == 2
        # one event applied by hand: lag 1, within the bound
        conn = await asyncpg.connect(database_url)
        try:
            names = StoreNames(schema=schema_name)
            for model in all_projections():
                await conn.execute(
                    f"INSERT INTO {names.q(names.tracking)} VALUES ($1, 1) ON CONFLICT "
                    "(application_name) DO UPDATE SET notification_id = 1",
                    model.name,
                )
        finally:
            await conn.close()
        ready = await c.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"


async def test_the_metrics_token_when_set(ops: Callable[..., AsyncTestClient[Any]]) -> None:
    async with ops(metrics_token="scrape-me") as c:
        refused = await c.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await c.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200 and "gateledger_http_requests_total" in ok.text


async def test_request_and_correlation_ids_are_echoed_and_in_every_log_line(
    ops: Callable[..., AsyncTestClient[Any]], token: Callable[..., dict[str, str]]
) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    access = logging.getLogger("gateledger.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        async with ops() as c:
            given = await c.get(
                "/livez", headers={"X-Request-ID": "req-1.a:b", "X-Correlation-ID": "flow-7"}
            )
            made = await c.get("/livez")
            bad = await c.get("/livez", headers={"X-Request-ID": "no spaces\tor tabs"})
            refused = await c.get("/portfolios")  # a 401: ids on problems too
    finally:
        access.removeHandler(handler)
    assert given.headers["x-request-id"] == "req-1.a:b"
    assert given.headers["x-correlation-id"] == "flow-7"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert made.headers["x-correlation-id"] == made.headers["x-request-id"]
    assert bad.headers["x-request-id"] != "no spaces\tor tabs"
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["x-request-id"])
    assert refused.status_code == 401 and refused.headers["x-request-id"]
    logged = [json.loads(line) for line in lines]
    assert len(logged) == 4
    first = logged[0]
    assert (first["request_id"], first["correlation_id"]) == ("req-1.a:b", "flow-7")
    assert (first["route"], first["status"], first["method"]) == ("/api/v1/livez", 200, "GET")
    assert [e["request_id"] for e in logged] == [
        r.headers["x-request-id"] for r in (given, made, bad, refused)
    ]
    assert logged[3]["status"] == 401


def test_log_lines_outside_a_request_and_as_text() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you" and line["level"] == "WARNING"
    assert line["request_id"] is None and line["correlation_id"] is None
    assert TextFormatter().format(record) == "WARNING x: hello you"
    record.request_id, record.correlation_id = "r1", "c1"
    assert TextFormatter().format(record) == "WARNING x: hello you [request r1 correlation c1]"


def test_several_processes_metrics_are_summed_from_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's snapshot in GATELEDGER_METRICS_DIR adds to this one's."""
    other = Metrics()
    other.request("GET", "/api/v1/livez", 200, 0.002)
    other.request("GET", "/api/v1/livez", 200, 0.2)
    other.inc("gateledger_rate_limited_total", (("bucket", "command"),))
    (tmp_path / "999999.json").write_text(json.dumps(other.snapshot()))
    mine = Metrics()
    mine.request("GET", "/api/v1/livez", 200, 0.003)
    monkeypatch.setattr(metrics_module, "METRICS", mine)
    merged = metrics_module.process_metrics(tmp_path)
    assert (tmp_path / f"{__import__('os').getpid()}.json").exists()  # this one's, written
    found = samples(exposition(merged, []))
    labels = {"method": "GET", "route": "/api/v1/livez", "status": "200"}
    assert value(found, "gateledger_http_requests_total", **labels) == 3
    assert value(found, "gateledger_http_request_duration_seconds_count", **labels) == 3
    le = 'le="0.005"'
    key = next(k for k in found if "duration_seconds_bucket" in k and le in k)
    assert found[key] == 2  # 2 ms and 3 ms; 200 ms is in a later bucket
    assert value(found, "gateledger_rate_limited_total", bucket="command") == 1
    write_snapshot(tmp_path)  # idempotent: the file is replaced, never appended to
    assert len(list(tmp_path.glob("*.json"))) == 2


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "'text' or 'json'"),
        ("DB_POOL_SIZE", "1", "a whole number from 2 to 1000"),
        ("DB_ACQUIRE_TIMEOUT", "0", "seconds, more than 0 and at most 600"),
        ("DB_STATEMENT_TIMEOUT", "-5", "seconds, more than 0 and at most 3600"),
        ("DB_LOCK_TIMEOUT", "never", "seconds, more than 0 and at most 600"),
        ("READY_MAX_LAG", "-1", "a whole number from 0 to 1000000000"),
    ],
)
def test_a_bad_operations_setting_is_refused_by_name(name: str, value: str, message: str) -> None:
    env = {"GATELEDGER_JWT_SECRET": "s" * 40, f"GATELEDGER_{name}": value}
    with pytest.raises(ValueError, match=f"GATELEDGER_{name} must be {message}, not '{value}'"):
        Settings.from_env(env)


def test_operations_settings_defaults_and_values() -> None:
    s = Settings.from_env({"GATELEDGER_JWT_SECRET": "s" * 40})
    assert (s.db_pool_size, s.db_acquire_timeout_s) == (20, 5.0)
    assert (s.db_statement_timeout_s, s.db_lock_timeout_s) == (30.0, 5.0)
    assert (s.log_format, s.metrics_token, s.metrics_dir, s.ready_max_lag) == (
        "text",
        None,
        None,
        10_000,
    )
    s = Settings.from_env(
        {
            "GATELEDGER_JWT_SECRET": "s" * 40,
            "GATELEDGER_LOG_FORMAT": "JSON",
            "GATELEDGER_DB_LOCK_TIMEOUT": "0.25",
            "GATELEDGER_METRICS_DIR": "/tmp/m",
        }
    )
    assert (s.log_format, s.db_lock_timeout_s, s.metrics_dir) == ("json", 0.25, Path("/tmp/m"))


async def test_the_server_pool_carries_the_timeouts(
    database_url: str, schema_name: str, tmp_path: Path
) -> None:
    """The server's connections run with its statement and lock timeouts; a busy pool
    is PoolExhausted after the acquire timeout (tests/faults serve it)."""
    from api.bootstrap import opened_store

    settings = app_settings(
        database_url,
        schema_name,
        tmp_path,
        db_pool_size=2,
        db_acquire_timeout_s=0.2,
        db_statement_timeout_s=7,
        db_lock_timeout_s=0.5,
    )
    async with opened_store(settings, serving=True) as store:
        async with store.pool.acquire() as conn:  # a new session: the settings' timeouts
            assert await conn.fetchval("SHOW statement_timeout") == "7s"
            assert await conn.fetchval("SHOW lock_timeout") == "500ms"
            async with store.pool.acquire():
                with pytest.raises(PoolExhausted, match=r"within 0\.2 s"):
                    async with store.pool.acquire():
                        pass
        with pytest.raises(asyncpg.QueryCanceledError):  # past the statement timeout
            await store.pool.execute("SET statement_timeout = '50ms'; SELECT pg_sleep(1)")


FAULTS = [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.LockNotAvailableError("canceling statement due to lock timeout"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
    PoolExhausted("no database connection came free within 5 s; retry shortly"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda e: type(e).__name__)
async def test_every_database_fault_is_503_with_retry_after(fault: Exception) -> None:
    """The exception map answers each fault a request can meet with 503 problem+json
    and Retry-After, naming the kind of fault, never the driver's text."""

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise fault

    app = Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)
    async with AsyncTestClient(app=app) as c:
        r = await c.get("/boom")
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "2"
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"].endswith("/unavailable") and problem["status"] == 503
    assert "retry" in problem["detail"]
    if not isinstance(fault, PoolExhausted):
        assert str(fault) not in problem["detail"] or not str(fault)
