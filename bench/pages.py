"""The board room's pages through HTTP: server time and bytes of each page, beside the API
read that answers the same question, in the same run.

Loads the dataset (``bench.dataset``, as ``bench.queries``: 1M events by default, 100k
with ``--quick``) into a fresh schema (or reuses one with ``--schema``), builds every read
model (the generated log has no change requests or sign-offs: up to 20 of each are then
made through the API, before anything is measured), starts ``gateledger serve`` in a
process of its own and signs in by link (a real session cookie, so each page pays for its
session lookup). Then, for each page, sequential
GETs (after a warm-up) over sampled objects, and the same number of the equivalent API
read with a bearer token:

* inbox           GET /inbox                          vs GET /api/v1/me/inbox
* project         GET /projects/{id}                  vs GET /api/v1/projects/{id}
* project_as_of   GET /projects/{id}?as_of=N          vs GET /api/v1/projects/{id}?as_of=N
* decision        GET /projects/{id}/decisions/G/1    vs GET .../projects/{id}/gates/G/decisions/1
  (the page leaves out the portfolio's totals at the time, which the API read folds)
* change_request  GET /change-requests/{id}           vs GET /api/v1/change-requests/{id}
* signoff         GET /signoffs/{id}                  vs GET /api/v1/signoffs/{id}
* portfolio       GET /portfolios/{id}                vs GET /api/v1/portfolios/{id}
* auditor         GET /auditor?actor=&from=&to=       vs GET /api/v1/audit/events?(same, as many)
* admin           GET /admin                          vs GET /api/v1/projects?limit=200

Latency is measured at the client on 127.0.0.1 (no network between them: server time
plus a loopback round trip). Bytes are each answer's body and headers; the pages'
stylesheets and script are counted once (``assets_bytes``: cached for a year after the
first page). Targets: p99 under 50 ms and under 100 KB per page. The last line on stdout
is one JSON object; ``<page>_p99_ratio_vs_api`` is the page's p99 over its API read's.

    .venv/bin/python -m bench.pages --quick
    .venv/bin/python -m bench.pages --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from api.auth import mint_token
from api.pages.auditor import SHOWN as AUDIT_ROWS
from api.pages.render import VERSIONS, asset_url
from api.pages.sessions import COOKIE, mint_link
from api.settings import Settings
from bench.dataset import (
    add_dataset_options,
    add_schema_option,
    bench_parser,
    close_store,
    dataset_size,
    log,
    print_result,
    resolve_database,
)
from bench.queries import actor_window, build, free_port, percentile, start_server, wait_healthy
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from eventstore.schema import StoreNames
from projections.engine.read_model import table
from projections.projects.model import PROJECTS
from projections.registry import all_projections
from projections.requests.model import SUBJECTS

TARGET_P99_MS = 50.0
TARGET_BYTES = 100 * 1024
SAMPLE = 200  # objects of each kind the requests cycle through

Make = Callable[[int], str]


async def samples(store: Store, rnd: random.Random) -> dict[str, list[Any]]:
    """Objects to read: projects with a decision (and a position inside their life),
    change requests and sign-offs (their ids in the read model)."""
    pr, sj, audit = (table(store.names, t) for t in (PROJECTS, SUBJECTS, "rm_audit"))
    async with store.pool.acquire() as conn:
        decided = await conn.fetch(
            f"SELECT project_id, doc->'decisions'->0->>'gate' AS gate FROM {pr} "
            f"WHERE jsonb_array_length(doc->'decisions') > 0 LIMIT {SAMPLE * 5}"
        )
        crs = await conn.fetch(
            f"SELECT subject_id FROM {sj} WHERE kind = 'change_request' LIMIT {SAMPLE * 5}"
        )
        signoffs = await conn.fetch(
            f"SELECT subject_id FROM {sj} WHERE kind = 'signoff' LIMIT {SAMPLE * 5}"
        )
        chosen = rnd.sample(list(decided), min(len(decided), SAMPLE))
        spans = await conn.fetch(
            f"SELECT project_id, min(position), max(position) FROM {audit} "
            "WHERE project_id = ANY($1::uuid[]) GROUP BY project_id",
            [r["project_id"] for r in chosen],
        )
    middle = {r[0]: (r[1] + r[2]) // 2 for r in spans}
    return {
        "decided": [(r["project_id"], r["gate"]) for r in chosen],
        "as_of": [(r["project_id"], middle[r["project_id"]]) for r in chosen if r[0] in middle],
        "crs": [r[0] for r in rnd.sample(list(crs), min(len(crs), SAMPLE))],
        "signoffs": [r[0] for r in rnd.sample(list(signoffs), min(len(signoffs), SAMPLE))],
    }


SEEDED = 20  # change requests and sign-offs made when the generated log has none


async def seed_requests(
    client: httpx.AsyncClient,
    store: Store,
    settings: Settings,
    projects: list[uuid.UUID],
    picked: dict[str, list[Any]],
) -> None:
    """The generated log has no change requests or sign-offs: each of some projects' PMs
    raises one of each through the API (a CR submitted, a sign-off by the sponsor)."""
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT project_id, doc->>'pm', doc->>'sponsor', doc->>'currency' "
            f"FROM {table(store.names, PROJECTS)} WHERE project_id = ANY($1::uuid[]) "
            "AND doc->>'status' = 'active'",
            projects[: SEEDED * 3],
        )
    position = 0
    for project_id, pm, sponsor, currency in rows[:SEEDED]:
        auth = {"Authorization": f"Bearer {mint_token(settings, pm)}"}
        base = f"/api/v1/projects/{project_id}"
        cr = {
            "title": "More licences",
            "description": "Twice the users in the first year",
            "cost_delta": {"amount": "1000.00", "currency": currency},
            "schedule_delta_days": 5,
        }
        r = await client.post(f"{base}/change-requests", json=cr, headers=auth)
        if r.status_code == 201:
            cr_id = r.json()["id"]
            r = await client.post(f"/api/v1/change-requests/{cr_id}/submit", headers=auth)
            position = max(position, r.json().get("position", 0) if r.status_code == 200 else 0)
            picked["crs"].append(uuid.UUID(cr_id))
        signoff = {
            "deliverable": "Business case",
            "version": "1.0",
            "content_hash": "sha256:" + "ab" * 32,
            "signatories": [sponsor],
        }
        r = await client.post(f"{base}/signoffs", json=signoff, headers=auth)
        if r.status_code == 201:
            position = max(position, r.json()["position"])
            picked["signoffs"].append(uuid.UUID(r.json()["id"]))
    if position:  # the read models hold them before they are read
        auditor = {"Authorization": f"Bearer {mint_token(settings, 'auditor', ['auditor'])}"}
        await client.get(f"/api/v1/projects?min_position={position}&limit=1", headers=auditor)
    log(f"seeded {len(picked['crs'])} change requests and {len(picked['signoffs'])} sign-offs")


async def session(client: httpx.AsyncClient, settings: Settings, who: str, *roles: str) -> str:
    """A session cookie for ``who``, by a sign-in link, as a browser gets one."""
    token = mint_link(settings, "http://x", who, roles).partition("token=")[2]
    client.cookies.clear()
    r = await client.post("/sign-in/link", data={"token": token}, follow_redirects=False)
    if r.status_code != 303:
        raise RuntimeError(f"sign-in as {who}: {r.status_code} {r.text[:300]}")
    value = r.cookies.get(COOKIE)
    client.cookies.clear()
    if not value:
        raise RuntimeError(f"sign-in as {who}: no session cookie")
    return str(value)


def _bytes(r: httpx.Response) -> int:
    head = sum(len(k) + len(v) + 4 for k, v in r.headers.raw)
    return len(r.content) + head


async def measure(
    client: httpx.AsyncClient,
    name: str,
    make: Make,
    headers: dict[str, str],
    warmup: int,
    requests: int,
) -> tuple[list[float], list[int]]:
    """Sequential GETs: the latencies (ms) and sizes (bytes) of the measured ones."""
    latencies: list[float] = []
    sizes: list[int] = []
    for i in range(warmup + requests):
        url = make(i)
        t0 = time.perf_counter()
        r = await client.get(url, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"{name}: GET {url} -> {r.status_code} {r.text[:300]}")
        if i >= warmup:
            latencies.append(elapsed)
            sizes.append(_bytes(r))
    log(
        f"{name:22s} p50 {percentile(latencies, 0.5):7.2f} ms  p99 "
        f"{percentile(latencies, 0.99):7.2f} ms  max {max(latencies):7.2f} ms  "
        f"bytes avg {sum(sizes) / len(sizes) / 1024:6.1f} KiB max {max(sizes) / 1024:6.1f} KiB"
    )
    return latencies, sizes


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load, project, serve, sign in, measure every page and its API read, drop."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    dsn, source = resolve_database(args.database_url)
    events, projects = dataset_size(args)
    schema = args.schema or f"bench_p_{uuid.uuid4().hex[:10]}"
    store = await open_store(
        dsn,
        StoreNames(schema=schema),
        stored_names=STORED_NAMES,
        min_size=1,
        max_size=len(all_projections()) + 4,
    )
    rnd = random.Random(11)
    result: dict[str, Any] = {}
    requests = args.requests or (100 if args.quick else 300)
    try:
        log(f"schema {schema}; {events:,} events, {projects:,} projects ({source})")
        info = await build(store, events, projects, keep=bool(args.schema))
        busy = info.busiest_gatekeeper
        start, end = await actor_window(store, busy)
        picked = await samples(store, rnd)
        settings = Settings(
            database_url=dsn,
            schema=schema,
            jwt_secret=secrets.token_urlsafe(32),
            data_dir=Path(tempfile.mkdtemp(prefix="gateledger-bench-")),
            run_projector=True,
        )
        bearer = {
            "auditor": {"Authorization": f"Bearer {mint_token(settings, 'auditor', ['auditor'])}"},
            "busy": {"Authorization": f"Bearer {mint_token(settings, busy)}"},
            "pmo": {"Authorization": f"Bearer {mint_token(settings, 'pmo', ['pmo_admin'])}"},
        }
        window = str(
            httpx.QueryParams({"actor": busy, "from": start.isoformat(), "to": end.isoformat()})
        )
        project_sample = rnd.sample(info.projects, min(len(info.projects), SAMPLE))

        def cycle(items: list[Any]) -> Callable[[int], Any]:
            return lambda i: items[i % len(items)]

        p, d, a = cycle(project_sample), cycle(picked["decided"]), cycle(picked["as_of"])
        cr, so, pf = cycle(picked["crs"]), cycle(picked["signoffs"]), cycle(info.portfolios)
        api = "/api/v1"
        # page -> (who, page URL, the equivalent API read's URL)
        cases: dict[str, tuple[str, Make, Make]] = {
            "inbox": ("busy", lambda i: "/inbox", lambda i: f"{api}/me/inbox"),
            "project": (
                "auditor",
                lambda i: f"/projects/{p(i)}",
                lambda i: f"{api}/projects/{p(i)}",
            ),
            "project_as_of": (
                "auditor",
                lambda i: f"/projects/{a(i)[0]}?as_of={a(i)[1]}",
                lambda i: f"{api}/projects/{a(i)[0]}?as_of={a(i)[1]}",
            ),
            "decision": (
                "auditor",
                lambda i: f"/projects/{d(i)[0]}/decisions/{d(i)[1]}/1",
                lambda i: f"{api}/projects/{d(i)[0]}/gates/{d(i)[1]}/decisions/1",
            ),
            "change_request": (
                "auditor",
                lambda i: f"/change-requests/{cr(i)}",
                lambda i: f"{api}/change-requests/{cr(i)}",
            ),
            "signoff": (
                "auditor",
                lambda i: f"/signoffs/{so(i)}",
                lambda i: f"{api}/signoffs/{so(i)}",
            ),
            "portfolio": (
                "auditor",
                lambda i: f"/portfolios/{pf(i)}",
                lambda i: f"{api}/portfolios/{pf(i)}",
            ),
            "auditor": (
                "auditor",
                lambda i: f"/auditor?{window}",
                lambda i: f"{api}/audit/events?{window}&limit={AUDIT_ROWS}",
            ),
            "admin": ("pmo", lambda i: "/admin", lambda i: f"{api}/projects?limit=200"),
        }
        port = free_port()
        server = start_server(settings, port)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                await wait_healthy(client, server)
                if not picked["crs"] or not picked["signoffs"]:
                    await seed_requests(client, store, settings, project_sample, picked)
                for name, key in (
                    ("change_request", "crs"),
                    ("signoff", "signoffs"),
                    ("decision", "decided"),
                ):
                    if not picked[key]:
                        log(f"no {key} in this log: {name} not measured")
                        del cases[name]
                cookies = {
                    "busy": await session(client, settings, busy),
                    "auditor": await session(client, settings, "auditor", "auditor"),
                    "pmo": await session(client, settings, "pmo", "pmo_admin"),
                }
                assets = 0
                for asset in VERSIONS:
                    r = await client.get(asset_url(asset))
                    assets += _bytes(r)
                result["assets_bytes"] = assets
                log(f"serving on 127.0.0.1:{port}; assets {assets / 1024:.1f} KiB once")
                for name, (who, page, read) in cases.items():
                    cookie = {"Cookie": f"{COOKIE}={cookies[who]}"}
                    lat, sizes = await measure(
                        client, f"{name} (page)", page, cookie, args.warmup, requests
                    )
                    api_lat, api_sizes = await measure(
                        client, f"{name} (api)", read, bearer[who], args.warmup, requests
                    )
                    page_p99 = percentile(lat, 0.99)
                    api_p99 = percentile(api_lat, 0.99)
                    result[f"{name}_p50_ms"] = round(percentile(lat, 0.5), 2)
                    result[f"{name}_p99_ms"] = round(page_p99, 2)
                    result[f"{name}_api_p50_ms"] = round(percentile(api_lat, 0.5), 2)
                    result[f"{name}_api_p99_ms"] = round(api_p99, 2)
                    result[f"{name}_bytes_avg"] = round(sum(sizes) / len(sizes))
                    result[f"{name}_bytes_max"] = max(sizes)
                    result[f"{name}_api_bytes_avg"] = round(sum(api_sizes) / len(api_sizes))
                    result[f"{name}_p99_ratio_vs_api"] = round(page_p99 / api_p99, 2)
        finally:
            server.terminate()
            server.wait(30)
        pages = list(cases)
        result.update(
            events=info.events,
            projects=len(info.projects),
            portfolios=len(info.portfolios),
            inbox_person=busy,
            requests_each=requests,
            target_p99_ms=TARGET_P99_MS,
            target_bytes=TARGET_BYTES,
            slow=[n for n in pages if result[f"{n}_p99_ms"] >= TARGET_P99_MS],
            heavy=[n for n in pages if result[f"{n}_bytes_max"] >= TARGET_BYTES],
            database=source,
        )
    finally:
        await close_store(store, keep=bool(args.schema))
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = bench_parser(__doc__, "100k events / 1k projects, 100 requests per page")
    add_dataset_options(p)
    add_schema_option(p)
    p.add_argument("--requests", type=int, help="measured requests per page (default 300)")
    p.add_argument("--warmup", type=int, default=10, help="warm-up requests per page")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    return print_result(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())
