"""Command throughput through HTTP: votes and change requests sent to a real server.

Starts ``gateledger serve`` (a process of its own, rate limits and the escalation job
off, the projector on as in production) on a fresh schema, seeds it through HTTP
(portfolios with boards, projects with an open G0 review), then runs closed-loop clients
at 1, 8, 32 and 128 concurrent clients (async, on keep-alive connections of
``bench.rawhttp``, a lean client: httpx cost the shared cores more CPU per command than
the server). Each client picks a random project for every command: three times in four a
board member votes (changing their vote, so every vote records an event), else the
project's PM drafts a change request and submits it (two commands). 409/412 answers (a
concurrent change the server gave up on) are counted apart from other failures. Each
level starts once the read models hold the whole log (the previous level's backlog is
not projected during the next). Then an open-loop run at half the peak rate gives the
latency the targets speak of (p99 under 50 ms at half the peak).

The floor, in the same run (before and after the HTTP runs, averaged), with 32 writers
each appending one event per transaction to an aggregate of its own:

* ``recorder``: eventsourcing's ``PostgresApplicationRecorder.insert_events``;
* ``asyncpg``: raw asyncpg, ``BEGIN; INSERT one row; COMMIT`` on a plain table of the
  same layout (no lock, no chain: the database's own cost of a transaction);
* ``store``: Gateledger's store alone (``insert_events``, group commit, chained).

Also measured: the server's CPU time per command (from /proc, its workers included),
PostgreSQL's (every postgres process on this machine) and its resident memory.
Progress goes to stderr; the last line on stdout is one JSON object.

    .venv/bin/python -m bench.commands --quick
    .venv/bin/python -m bench.commands --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg_pool import PoolTimeout

from api.auth import mint_token
from api.settings import Settings
from bench.append import Writer, datastore_for, eventsourcing_round, gateledger_round
from bench.dataset import bench_parser, log, print_result, resolve_database
from bench.queries import free_port, percentile, start_projector, start_server, wait_healthy
from bench.rawhttp import RawClient, RawError, RawResponse
from eventstore.database import open_store
from eventstore.schema import StoreNames, create_schema, drop_schema, quote_ident
from eventstore.verify import verify_chain

PREFIX = "/api/v1"
LEVELS = (1, 8, 32, 128)
BASELINE_WRITERS = 32
BOARD_SIZE = 5
CR_SHARE = 0.25  # of client iterations: a PM drafts and submits a change request
TARGET_P99_MS = 50.0


# --- the seeded world -------------------------------------------------------------------


@dataclass
class World:
    """Projects with an open G0 review, their portfolios' boards and PMs, and tokens."""

    projects: list[tuple[str, list[str], str]] = field(default_factory=list)  # id, board, pm
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def auth(self, settings: Settings, person: str, *roles: str) -> dict[str, str]:
        """A bearer header for ``person`` (minted once, reused as a client would)."""
        if person not in self.tokens:
            token = mint_token(settings, person, roles, ttl=3600)
            self.tokens[person] = {"Authorization": f"Bearer {token}"}
        return self.tokens[person]


async def _ok(r: httpx.Response, what: str) -> dict[str, Any]:
    if r.status_code not in (200, 201):
        raise RuntimeError(f"{what}: {r.status_code} {r.text[:300]}")
    answer: dict[str, Any] = r.json()
    return answer


async def seed(
    client: httpx.AsyncClient, settings: Settings, portfolios: int, projects: int
) -> World:
    """Portfolios (boards of ``BOARD_SIZE``), projects spread over them, a G0 review open
    on each, all through HTTP."""
    world = World()
    admin = world.auth(settings, "bench-admin", "pmo_admin")
    boards: list[tuple[str, list[str]]] = []
    for p in range(portfolios):
        members = [f"gk{p}-{k}" for k in range(BOARD_SIZE)]
        body = {
            "name": f"Portfolio {p}",
            "objectives": ["Throughput"],
            "envelope": {"amount": "100000000.00", "currency": "EUR"},
            "board": {"members": members, "chair": members[0]},
        }
        made = await _ok(await client.post(f"{PREFIX}/portfolios", json=body, headers=admin), "p")
        boards.append((made["id"], members))
    sem = asyncio.Semaphore(8)

    async def one(j: int) -> tuple[str, list[str], str]:
        portfolio_id, members = boards[j % len(boards)]
        pm = f"pm{j}"
        body = {
            "portfolio_id": portfolio_id,
            "name": f"Project {j}",
            "pm": pm,
            "sponsor": f"sponsor{j}",
            "baseline": {
                "budget": {"amount": "250000.00", "currency": "EUR"},
                "start": "2027-01-01",
                "end": "2027-12-31",
                "scope": "Benchmark scope",
            },
            "tolerances": {"cost_pct": "10", "schedule_days": 30},
        }
        async with sem:
            made = await _ok(
                await client.post(f"{PREFIX}/projects", json=body, headers=admin), "project"
            )
            review = {"evidence": [{"title": "Mandate", "content_hash": "sha256:abc"}]}
            await _ok(
                await client.post(
                    f"{PREFIX}/projects/{made['id']}/gates/G0/review",
                    json=review,
                    headers=world.auth(settings, pm),
                ),
                "review",
            )
        return made["id"], members, pm

    world.projects = list(await asyncio.gather(*(one(j) for j in range(projects))))
    for _, members, pm in world.projects:
        for person in [*members, pm]:
            world.auth(settings, person)
    return world


# --- the load ---------------------------------------------------------------------------


@dataclass
class Tally:
    """What one run's requests got."""

    latencies: list[float] = field(default_factory=list)  # ms, of 2xx answers
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    conflicts: int = 0  # 409 and 412
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def note(self, kind: str, r: RawResponse | None, ms: float, error: str = "") -> bool:
        if r is not None and r.status_code in (200, 201):
            self.latencies.append(ms)
            self.by_kind.setdefault(kind, []).append(ms)
            return True
        if r is not None and r.status_code in (409, 412):
            self.conflicts += 1
            return False
        status = str(r.status_code) if r is not None else error
        self.failures[status] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{kind} {status} {r.text[:200] if r is not None else ''}")
        return False


class Load:
    """Sends the commands: votes, change-request drafts and submissions."""

    def __init__(self, client: RawClient, world: World, settings: Settings) -> None:
        self.client, self.world, self.settings = client, world, settings
        self.rounds = 0

    async def _send(self, tally: Tally, kind: str, url: str, body: Any, person: str) -> Any:
        headers = self.world.auth(self.settings, person)
        t0 = time.perf_counter()
        try:
            r = await self.client.post(url, json=body, headers=headers)
        except RawError as exc:
            tally.note(kind, None, 0.0, str(exc).partition(":")[0])
            return None
        ok = tally.note(kind, r, (time.perf_counter() - t0) * 1000)
        return r.json() if ok else None

    async def one(self, rnd: random.Random, tally: Tally) -> int:
        """One client iteration: a vote, or a CR drafted and submitted. Returns how many
        commands it sent."""
        project_id, members, pm = rnd.choice(self.world.projects)
        self.rounds += 1
        if rnd.random() >= CR_SHARE:
            voter = rnd.choice(members)
            body = {
                "vote": rnd.choice(("approve", "reject", "abstain")),
                "rationale": f"{voter} at round {self.rounds}",
            }
            await self._send(
                tally, "vote", f"{PREFIX}/projects/{project_id}/gates/G0/votes", body, voter
            )
            return 1
        draft = {
            "title": f"Change {self.rounds}",
            "description": "A benchmark change",
            "cost_delta": {"amount": "1000.00", "currency": "EUR"},
            "schedule_delta_days": 1,
        }
        made = await self._send(
            tally, "cr_draft", f"{PREFIX}/projects/{project_id}/change-requests", draft, pm
        )
        if made is None:
            return 1
        url = f"{PREFIX}/change-requests/{made['id']}/submit"
        await self._send(tally, "cr_submit", url, None, pm)
        return 2

    async def closed(self, clients: int, seconds: float, seed_: int) -> tuple[Tally, float]:
        """``clients`` each sending their next command once answered, for ``seconds``."""
        tally = Tally()
        deadline = time.perf_counter() + seconds

        async def client(i: int) -> None:
            rnd = random.Random(seed_ * 1000 + i)
            while time.perf_counter() < deadline:
                await self.one(rnd, tally)

        t0 = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        return tally, time.perf_counter() - t0

    async def open(self, rate: float, seconds: float) -> tuple[Tally, float]:
        """Client iterations started at a fixed rate (commands per second, counting a CR
        as two), whatever the answers' speed."""
        tally = Tally()
        per_iteration = 1 + CR_SHARE  # commands per iteration, on average
        interval = per_iteration / rate
        rnd = random.Random(99)
        tasks: list[asyncio.Task[int]] = []
        t0 = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) < t0 + seconds:
            due = t0 + n * interval
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(self.one(random.Random(rnd.random()), tally)))
            n += 1
        await asyncio.gather(*tasks)
        return tally, time.perf_counter() - t0


# --- the server's costs -----------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def server_pids(pid: int) -> list[int]:
    """The server process and its workers (forked children, ``--workers N``)."""
    found = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat(int(entry))[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of a server process and its workers (/proc)."""
    total = 0
    for p in server_pids(pid):
        try:
            fields = _stat(p)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU seconds so far of every PostgreSQL process on this machine (the database's
    share of a command, when it runs here; 0 when it runs elsewhere)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        if raw[raw.find("(") + 1 : raw.rfind(")")] == "postgres":
            fields = raw.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MB of the largest of a server's processes (each worker
    is a whole server)."""
    rss = peak = 0.0
    for p in server_pids(pid):
        found: dict[str, float] = {}
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        found[key] = int(value.split()[0]) / 1024
        except OSError:
            continue
        rss, peak = max(rss, found.get("VmRSS", 0.0)), max(peak, found.get("VmHWM", 0.0))
    return rss, peak


def profile(pid: int, out: str | None) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` of the server (raw folded stacks, for flame graphs or grep) until
    stopped, if asked for."""
    if not out:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    command = [str(spy), "record", "-p", str(pid), "-o", out, "-f", "raw", "-r", "200", "-s"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def settled(dsn: str, schema: str, limit_s: float = 60.0) -> float:
    """Wait until every read model holds the whole log (the previous level's backlog
    would otherwise be projected during the next one); returns the seconds waited."""
    names = StoreNames(schema=schema)
    t0 = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        while time.perf_counter() - t0 < limit_s:
            head = await conn.fetchval(f"SELECT max(notification_id) FROM {names.q(names.events)}")
            lowest = await conn.fetchval(
                f"SELECT min(notification_id) FROM {names.q(names.tracking)} "
                "WHERE application_name <> '__migration__'"
            )
            if head is None or (lowest is not None and lowest >= head):
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return time.perf_counter() - t0


# --- the floor --------------------------------------------------------------------------


async def raw_round(pool: asyncpg.Pool, table: str, writers: list[Writer], seconds: float) -> int:
    """Raw asyncpg: one INSERT per explicit transaction per writer until the deadline."""
    sql = (
        f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
        "VALUES ($1, $2, $3, $4)"
    )
    deadline = time.perf_counter() + seconds
    done = 0

    async def run(w: Writer) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            e = w.next_event()
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(sql, e.originator_id, e.originator_version, e.topic, e.state)
            done += 1

    await asyncio.gather(*(run(w) for w in writers))
    return done


@dataclass
class Floor:
    """The baselines' rates, summed over their rounds."""

    events: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    missed: int = 0  # rounds left out

    def add(self, system: str, events: int, seconds: float) -> None:
        self.events[system] += events
        self.seconds[system] = self.seconds.get(system, 0.0) + seconds

    def rate(self, system: str) -> float:
        s = self.seconds.get(system, 0.0)
        return self.events[system] / s if s else 0.0


async def floor_round(dsn: str, schema: str, seconds: float, into: Floor) -> None:
    """One round of each baseline, ``BASELINE_WRITERS`` writers each, in schema
    ``schema`` (made here)."""
    n = BASELINE_WRITERS
    names = StoreNames(schema=schema)
    store = await open_store(dsn, names, stored_names=None, min_size=n, max_size=n)
    datastore = None
    try:
        raw_table = f"{quote_ident(schema)}.raw_events"
        async with store.pool.acquire() as conn:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {raw_table} (originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, topic text, state bytea, "
                "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
            )
        es_schema = schema + "_es"
        async with store.pool.acquire() as conn:
            await create_schema(conn, StoreNames(schema=es_schema))
        datastore = datastore_for(dsn, es_schema, n)
        recorder = PostgresApplicationRecorder(datastore, events_table_name="stored_events")
        await asyncio.to_thread(datastore.pool.open, True, 30.0)

        writers = [Writer() for _ in range(n)]
        t0 = time.perf_counter()
        latencies = await gateledger_round(store, writers, seconds)
        into.add("store", len(latencies), time.perf_counter() - t0)

        writers = [Writer() for _ in range(n)]
        t0 = time.perf_counter()
        latencies = await asyncio.to_thread(eventsourcing_round, recorder, writers, seconds)
        into.add("recorder", len(latencies), time.perf_counter() - t0)

        writers = [Writer() for _ in range(n)]
        t0 = time.perf_counter()
        done = await raw_round(store.pool, raw_table, writers, seconds)
        into.add("asyncpg", done, time.perf_counter() - t0)
        log(
            f"floor: store {into.rate('store'):.0f}, recorder {into.rate('recorder'):.0f}, "
            f"asyncpg {into.rate('asyncpg'):.0f} events/s (so far, {n} writers)"
        )
    finally:
        if datastore is not None:
            await asyncio.to_thread(datastore.close)
        await store.close()


async def floor_or_note(dsn: str, schema: str, seconds: float, into: Floor) -> None:
    """A floor round; one that cannot get its connections (a database other work keeps
    near max_connections) is left out, and the run goes on with the other round."""
    try:
        await floor_round(dsn, schema, seconds, into)
    except (PoolTimeout, asyncpg.TooManyConnectionsError) as exc:
        log(f"floor round left out: {exc!r}")
        into.missed += 1


# --- the run ----------------------------------------------------------------------------


def summary(tally: Tally, elapsed: float) -> dict[str, Any]:
    n = len(tally.latencies)
    out: dict[str, Any] = {
        "commands": n,
        "per_s": round(n / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(tally.latencies, 0.5), 1) if n else None,
        "p99_ms": round(percentile(tally.latencies, 0.99), 1) if n else None,
        "conflicts": tally.conflicts,
        "failures": dict(tally.failures),
    }
    for kind, values in sorted(tally.by_kind.items()):
        out[f"{kind}_p50_ms"] = round(percentile(values, 0.5), 1)
    if tally.examples:
        out["failure_examples"] = tally.examples
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Floor, serve, seed, load at each level, half-peak, floor again, verify, drop."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    dsn, source = resolve_database(args.database_url)
    seconds: float = args.seconds or (6.0 if args.quick else 20.0)
    floor_s: float = 3.0 if args.quick else 8.0
    levels = [int(x) for x in args.clients.split(",")]
    projects = args.projects or (128 if args.quick else 256)
    suffix = uuid.uuid4().hex[:10]
    schema, floor_schema = f"bench_c_{suffix}", f"bench_cf_{suffix}"
    result: dict[str, Any] = {}
    floor = Floor()
    log(f"schema {schema}; {projects} projects; clients {levels}; {seconds:g} s each ({source})")
    try:
        await floor_or_note(dsn, floor_schema, floor_s, floor)
        settings = Settings(
            database_url=dsn,
            schema=schema,
            jwt_secret=secrets.token_urlsafe(32),
            data_dir=Path(tempfile.mkdtemp(prefix="gateledger-bench-")),
        )
        port = free_port()
        server = start_server(settings, port, args.workers, projector=not args.separate_projector)
        projector = start_projector(settings) if args.separate_projector else None
        pids = [server.pid] + ([projector.pid] if projector is not None else [])

        def server_cpu() -> float:  # the API processes and a separate projector
            return sum(cpu_seconds(pid) for pid in pids)

        try:
            limits = httpx.Limits(
                max_connections=max(levels) * 2 + 16,
                max_keepalive_connections=None,
                keepalive_expiry=2.0,  # below the server's idle timeout (5 s): no race
            )
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
            ) as client:
                await wait_healthy(client, server)
                t0 = time.perf_counter()
                world = await seed(client, settings, max(1, projects // 16), projects)
                log(f"seeded {projects} projects in {time.perf_counter() - t0:.1f} s")
                # the load's own client: httpx cost more CPU per command than the server
                load = Load(RawClient("127.0.0.1", port), world, settings)
                spy = profile(server.pid, args.py_spy)
                await load.closed(8, 1.5 if args.quick else 3.0, 0)  # warm-up
                peak = 0.0
                for clients in levels:
                    waited = await settled(dsn, schema)
                    if waited > 1:
                        log(f"read models caught up in {waited:.1f} s")
                    cpu0, client_cpu0 = server_cpu(), time.process_time()
                    db_cpu0 = postgres_cpu_seconds()
                    tally, elapsed = await load.closed(clients, seconds, clients)
                    cpu = server_cpu() - cpu0
                    client_cpu = time.process_time() - client_cpu0
                    db_cpu = postgres_cpu_seconds() - db_cpu0
                    s = summary(tally, elapsed)
                    s["server_cpu_ms_per_command"] = (
                        round(cpu * 1000 / s["commands"], 2) if s["commands"] else None
                    )
                    s["postgres_cpu_ms_per_command"] = (
                        round(db_cpu * 1000 / s["commands"], 2) if s["commands"] else None
                    )
                    s["client_cpu_ms_per_command"] = (
                        round(client_cpu * 1000 / s["commands"], 2) if s["commands"] else None
                    )
                    result[f"clients_{clients}"] = s
                    result[f"commands_per_s_{clients}"] = s["per_s"]
                    result[f"p50_ms_{clients}"] = s["p50_ms"]
                    result[f"p99_ms_{clients}"] = s["p99_ms"]
                    result[f"conflicts_{clients}"] = s["conflicts"]
                    result[f"server_cpu_ms_per_command_{clients}"] = s["server_cpu_ms_per_command"]
                    peak = max(peak, s["per_s"])
                    log(f"{clients:4d} clients: {s}")
                half = peak / 2
                waited = await settled(dsn, schema)
                log(f"read models caught up in {waited:.1f} s; open loop next")
                tally, elapsed = await load.open(half, seconds)
                s = summary(tally, elapsed)
                result["half_peak"] = {"target_per_s": round(half, 1), **s}
                result["p99_ms_at_half_peak"] = s["p99_ms"]
                log(f"open loop at {half:.0f}/s (half the peak): {s}")
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(60)
                rss, peak_rss = memory_mb(server.pid)
                result["server_rss_mb"] = round(rss, 1)
                result["server_peak_rss_mb"] = round(peak_rss, 1)
        finally:
            for process in (server, projector):
                if process is not None:
                    process.terminate()
                    process.wait(30)
        await floor_or_note(dsn, floor_schema + "b", floor_s, floor)

        store = await open_store(dsn, StoreNames(schema=schema), stored_names=None, max_size=2)
        try:
            chained = await verify_chain(store.pool, store.names)
            async with store.pool.acquire() as conn:
                count, top = await conn.fetchrow(
                    f"SELECT count(*), max(notification_id) FROM {store.names.q('stored_events')}"
                )
        finally:
            await store.close()
        log(f"chain {'intact' if chained.intact else 'BROKEN'}; {count} events, ids 1..{top}")
        result["chain_intact"] = chained.intact
        result["gapless"] = count == top
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            for made in (schema, floor_schema, floor_schema + "b"):
                await drop_schema(conn, made)
                await drop_schema(conn, made + "_es")
        finally:
            await conn.close()
    rates = {k: round(floor.rate(k), 1) for k in ("recorder", "asyncpg", "store")}
    log(f"floor ({BASELINE_WRITERS} writers): {rates}")
    result.update({f"{k}_events_per_s": v for k, v in rates.items()})
    result["floor_rounds_left_out"] = floor.missed
    for clients in levels:
        http = result[f"commands_per_s_{clients}"]
        for k in ("recorder", "asyncpg"):
            if rates[k]:
                result[f"ratio_http_{clients}_vs_{k}"] = round(http / rates[k], 3)
    result["ratio_p99_half_peak_vs_target"] = (
        round(result["p99_ms_at_half_peak"] / TARGET_P99_MS, 3)
        if result.get("p99_ms_at_half_peak")
        else None
    )
    result.update(
        projects=projects,
        server_workers=args.workers,
        separate_projector=args.separate_projector,
        seconds_each=seconds,
        baseline_writers=BASELINE_WRITERS,
        cpus=os.cpu_count(),
        database=source,
    )
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = bench_parser(__doc__, "6 s per level, 128 projects (about a minute)")
    p.add_argument("--seconds", type=float, help="measured seconds per level")
    p.add_argument("--projects", type=int, help="projects (default 256; 128 with --quick)")
    p.add_argument("--py-spy", help="record the server with py-spy into this file (raw stacks)")
    p.add_argument(
        "--workers", type=int, default=1, help="server processes (gateledger serve --workers)"
    )
    p.add_argument(
        "--separate-projector",
        action="store_true",
        help="the projector in a gateledger project process (GATELEDGER_PROJECTOR=off in "
        "the servers), as docs/deploy.md lays out; its CPU counts as the server's",
    )
    p.add_argument(
        "--clients", default=",".join(map(str, LEVELS)), help="concurrency levels (1,8,32,128)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    result = asyncio.run(run(parse_args(argv)))
    print_result(result)
    return 0 if result["chain_intact"] and result["gapless"] else 1


if __name__ == "__main__":
    sys.exit(main())
