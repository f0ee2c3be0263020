"""Read latency through HTTP: the real app under uvicorn, over a realistic projected log.

Loads the dataset (``bench.dataset``) into a fresh schema (or, with ``--schema``, reuses
one an earlier run kept), builds every read model with ``projections.engine.rebuild``, starts
``gateledger serve`` on 127.0.0.1 (a free port, a process of its own) and times
sequential requests with httpx (after a warm-up):

* the portfolio view       GET /api/v1/portfolios/{id}
* a project's detail       GET /api/v1/projects/{id}
* the inbox of the busiest gatekeeper   GET /api/v1/me/inbox
* the audit trail of one project        GET /api/v1/audit/events?project_id=...
* one actor's audit trail over a time range  GET /api/v1/audit/events?actor=&from=&to=

Queries whose p99 misses the target get an ``EXPLAIN (ANALYZE, BUFFERS)`` of their SQL
on stderr (and in the JSON). Progress goes to stderr; the last line on stdout is one JSON
object. The schema is dropped at the end, unless ``--schema`` named it.

    .venv/bin/python -m bench.queries --quick
    .venv/bin/python -m bench.queries --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from api.auth import mint_token
from api.settings import Settings
from bench.dataset import (
    DatasetInfo,
    add_dataset_options,
    add_schema_option,
    bench_parser,
    close_store,
    dataset_size,
    fill_from_read_models,
    load_or_reuse,
    log,
    print_result,
    resolve_database,
)
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from eventstore.schema import StoreNames
from projections.audit.model import AuditFilter, page_sql
from projections.engine.read_model import table
from projections.engine.rebuild import rebuild_many
from projections.inbox.queries import inbox_sql
from projections.portfolios.queries import portfolio_sql
from projections.projects.model import PROJECTS
from projections.registry import all_projections, create_tables

TARGET_P99_MS = 20.0


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def build(store: Store, events: int, projects: int, keep: bool) -> DatasetInfo:
    """Load (or reuse) the dataset and project it into every read model."""
    info = await load_or_reuse(store, events, projects, keep)
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    r = await rebuild_many(store, all_projections())
    log(f"rebuilt {r.projection}: {r.events:,} events in {r.seconds:.1f} s")
    await fill_from_read_models(store, info)
    return info


async def actor_window(store: Store, actor: str) -> tuple[datetime, datetime]:
    """The middle half of the time span in which ``actor`` acted."""
    async with store.pool.acquire() as conn:
        lo, hi = await conn.fetchrow(
            f"SELECT min(at), max(at) FROM {table(store.names, 'rm_audit')} WHERE actor = $1",
            actor,
        )
    span = hi - lo
    return lo + span / 4, lo + span * 3 / 4


_P = uuid.UUID(int=0)  # placeholders: only the statement's shape matters here
_T = datetime(2000, 1, 1, tzinfo=UTC)


def sql_of(names: StoreNames) -> dict[str, str]:
    """The SQL each endpoint runs (as in ``projections``), for EXPLAIN ANALYZE."""
    pr = table(names, PROJECTS)
    return {
        "portfolio_view": portfolio_sql(names),
        "project_detail": f"SELECT doc FROM {pr} WHERE project_id = $1",
        "inbox": inbox_sql(names),
        "audit_by_project": page_sql(names, AuditFilter(project_id=_P), 101)[0],
        "audit_by_actor": page_sql(names, AuditFilter(actor="", start=_T, end=_T), 101)[0],
    }


async def explain(store: Store, sql: str, params: list[Any]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement."""
    async with store.pool.acquire() as conn:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
    return "\n".join(r[0] for r in rows)


async def measure(
    client: httpx.AsyncClient,
    name: str,
    make: Callable[[int], tuple[str, dict[str, str]]],
    warmup: int,
    requests: int,
) -> list[float]:
    """Sequential requests: returns the latencies (ms) of the measured ones."""
    latencies: list[float] = []
    sizes = 0
    for i in range(warmup + requests):
        url, headers = make(i)
        t0 = time.perf_counter()
        r = await client.get(url, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"{name}: GET {url} -> {r.status_code} {r.text[:300]}")
        if i >= warmup:
            latencies.append(elapsed)
            sizes += len(r.content)
    log(
        f"{name:18s} p50 {percentile(latencies, 0.5):7.2f} ms  p99 "
        f"{percentile(latencies, 0.99):7.2f} ms  max {max(latencies):7.2f} ms  "
        f"(avg response {sizes / len(latencies) / 1024:.1f} KiB)"
    )
    return latencies


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    settings: Settings, port: int, workers: int = 1, projector: bool = True
) -> subprocess.Popen[bytes]:
    """``gateledger serve`` in a process of its own (``workers`` forked servers on one
    port), on the benchmark's schema; ``projector=False``: with no projector in it."""
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    env = server_env(settings)
    if not projector:
        env["GATELEDGER_PROJECTOR"] = "off"
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_projector(settings: Settings) -> subprocess.Popen[bytes]:
    """``gateledger project``: the projector as a process of its own."""
    command = [sys.executable, "-m", "api.cli", "project"]
    return subprocess.Popen(
        command, env=server_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def server_env(settings: Settings) -> dict[str, str]:
    """The environment of a benchmark's server: its database, schema and secret, the
    rate limits and the escalation job off."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "GATELEDGER_SCHEMA": settings.schema,
        "GATELEDGER_JWT_SECRET": settings.jwt_secret,
        "GATELEDGER_DATA_DIR": str(settings.data_dir),
        # a benchmark measures the reads, not the rate limits
        "GATELEDGER_RATE_COMMANDS": "off",
        "GATELEDGER_RATE_EXPENSIVE": "off",
        # Measure reads only: no escalation job writing events (and changing a kept log).
        "GATELEDGER_ESCALATION": "off",
    }


async def wait_healthy(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if (await client.get("/api/v1/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not become healthy in 30 s")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load, project, serve, measure, explain the slow ones, drop."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request
    dsn, source = resolve_database(args.database_url)
    events, projects = dataset_size(args)
    schema = args.schema or f"bench_q_{uuid.uuid4().hex[:10]}"
    names = StoreNames(schema=schema)
    store = await open_store(
        dsn, names, stored_names=STORED_NAMES, min_size=1, max_size=len(all_projections()) + 4
    )
    rnd = random.Random(7)
    result: dict[str, Any] = {}
    try:
        log(f"schema {schema}; {events:,} events, {projects:,} projects ({source})")
        info = await build(store, events, projects, keep=bool(args.schema))
        busy = info.busiest_gatekeeper
        start, end = await actor_window(store, busy)
        settings = Settings(
            database_url=dsn,
            schema=schema,
            jwt_secret=secrets.token_urlsafe(32),
            data_dir=Path(tempfile.mkdtemp(prefix="gateledger-bench-")),
            run_projector=True,
        )
        auditor = {"Authorization": f"Bearer {mint_token(settings, 'auditor', ['auditor'])}"}
        gatekeeper = {"Authorization": f"Bearer {mint_token(settings, busy)}"}
        prefix = "/api/v1"
        window = {"actor": busy, "from": start.isoformat(), "to": end.isoformat()}
        project_sample = rnd.sample(info.projects, min(len(info.projects), 1000))

        def pick(i: int, ids: list[uuid.UUID]) -> uuid.UUID:
            return ids[i % len(ids)]

        cases: dict[str, Callable[[int], tuple[str, dict[str, str]]]] = {
            "portfolio_view": lambda i: (
                f"{prefix}/portfolios/{pick(i, info.portfolios)}",
                auditor,
            ),
            "project_detail": lambda i: (
                f"{prefix}/projects/{pick(i, project_sample)}",
                auditor,
            ),
            "inbox": lambda i: (f"{prefix}/me/inbox", gatekeeper),
            "audit_by_project": lambda i: (
                f"{prefix}/audit/events?project_id={pick(i, project_sample)}",
                auditor,
            ),
            "audit_by_actor": lambda i: (
                f"{prefix}/audit/events?" + str(httpx.QueryParams(window)),
                auditor,
            ),
        }

        # The server runs as its own process, as in production: its event loop (and the
        # projector inside it) never competes with the measuring client's.
        port = free_port()
        server = start_server(settings, port)
        latencies: dict[str, list[float]] = {}
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                await wait_healthy(client, server)
                log(f"app serving on 127.0.0.1:{port}; busiest gatekeeper {busy}")
                latencies["floor_health"] = await measure(
                    client,
                    "floor_health",
                    lambda i: (f"{prefix}/health", {}),
                    args.warmup,
                    args.requests,
                )
                for name, make in cases.items():
                    latencies[name] = await measure(client, name, make, args.warmup, args.requests)
                inbox = (await client.get(f"{prefix}/me/inbox", headers=gatekeeper)).json()
                inbox_items = len(inbox["items"])
        finally:
            server.terminate()
            server.wait(30)

        for name, values in latencies.items():
            result[f"{name}_p50_ms"] = round(percentile(values, 0.5), 2)
            result[f"{name}_p99_ms"] = round(percentile(values, 0.99), 2)
        now = datetime.now(UTC)
        params: dict[str, list[Any]] = {
            "portfolio_view": [info.portfolios[0], now.date()],
            "project_detail": [project_sample[0]],
            "inbox": [busy, now, 101, 0],
            "audit_by_project": [0, project_sample[0], 101],
            "audit_by_actor": [0, busy, start, end, 101],
        }
        plans: dict[str, str] = {}
        for key, sql in sql_of(names).items():
            if result[f"{key}_p99_ms"] < TARGET_P99_MS and not args.explain:
                continue
            try:
                plan = await explain(store, sql, params[key])
            except Exception as exc:  # a plan is a diagnosis: never lose the figures
                plan = f"EXPLAIN failed: {exc!r}"
            plans[key] = plan
            log(f"EXPLAIN ANALYZE {key} (p99 {result[f'{key}_p99_ms']} ms):\n{plan}")
        result.update(
            events=info.events,
            projects=len(info.projects),
            portfolios=len(info.portfolios),
            inbox_person=busy,
            inbox_items=inbox_items,
            requests_each=args.requests,
            load_seconds=round(info.load_seconds, 1),
            target_p99_ms=TARGET_P99_MS,
            slow=[k for k in latencies if result[f"{k}_p99_ms"] >= TARGET_P99_MS],
            database=source,
        )
        if plans:
            result["plans"] = plans
    finally:
        await close_store(store, keep=bool(args.schema))
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = bench_parser(__doc__, "100k events / 1k projects")
    add_dataset_options(p)
    add_schema_option(p)
    p.add_argument("--requests", type=int, default=300, help="measured requests per query")
    p.add_argument("--warmup", type=int, default=20, help="warm-up requests per query")
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every query")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    return print_result(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())
