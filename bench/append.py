"""Single-event append throughput: Gateledger's asyncpg store vs eventsourcing's recorder.

Each writer appends one ``StoredEvent`` per ``insert_events`` call (one transaction per
event) to an aggregate of its own, with increasing versions and ~300 bytes of JSON state.

* Gateledger: ``writers`` asyncio tasks sharing one asyncpg pool of ``writers`` connections.
* eventsourcing: ``writers`` threads sharing one ``PostgresDatastore`` (psycopg pool of
  ``writers`` connections), each calling ``PostgresApplicationRecorder.insert_events``.

A third system, "unchained", is Gateledger's append with the hash chain switched off:
``chain_ratio`` (chained / unchained) is what the chain costs. All run against the same
database, each in a fresh schema (dropped at the end), in alternating rounds so drift
affects all alike. Progress goes to stderr; the last line on stdout is one JSON object
with the aggregate rates.

    .venv/bin/python -m bench.append --quick
    .venv/bin/python -m bench.append --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import asyncpg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from bench.dataset import bench_parser, log, print_result, resolve_database
from eventstore.database import Store, open_store
from eventstore.functions import insert_event_groups_ddl, insert_events_ddl
from eventstore.schema import StoreNames, create_schema, drop_schema
from eventstore.verify import verify_chain

TOPIC = "bench.append:ItemRecorded"
GATELEDGER = "gateledger"
UNCHAINED = "unchained"  # Gateledger's append without the hash chain, for its cost
EVENTSOURCING = "eventsourcing"
SYSTEMS = (GATELEDGER, UNCHAINED, EVENTSOURCING)


# --- workload ---------------------------------------------------------------------------


@dataclass
class Writer:
    """One writer's aggregate: its originator id and the next version to append."""

    originator_id: uuid.UUID = field(default_factory=uuid.uuid4)
    version: int = 0

    def next_event(self) -> StoredEvent:
        """The next event of this aggregate, with ~300 bytes of JSON state."""
        self.version += 1
        state = {
            "originator_topic": "domain.project:Project",
            "timestamp": "2024-11-26T04:54:12.345678+00:00",
            "originator_version": self.version,
            "gate": "G2-design-review",
            "decision": "approved_with_conditions",
            "reviewer": "d2c5c1a0-6a9b-4ec6-9f3e-8e1c2b7d4f10",
            "conditions": ["update risk register", "re-baseline schedule"],
            "comment": "Budget variance within tolerance; vendor contract pending signature.",
        }
        return StoredEvent(
            originator_id=self.originator_id,
            originator_version=self.version,
            topic=TOPIC,
            state=json.dumps(state, separators=(",", ":")).encode(),
        )


@dataclass
class RoundResult:
    """What one timed round of one system achieved."""

    system: str
    events: int
    elapsed: float
    latencies: list[float]
    client_cpu: float
    host_busy: float | None
    waits: Counter[str]

    @property
    def rate(self) -> float:
        return self.events / self.elapsed if self.elapsed else 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _host_cpu() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, from /proc/stat (Linux only)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


# --- the two systems --------------------------------------------------------------------


async def gateledger_round(store: Store, writers: list[Writer], seconds: float) -> list[float]:
    """Append with one asyncio task per writer until the deadline; return latencies."""
    latencies: list[list[float]] = [[] for _ in writers]
    deadline = time.perf_counter() + seconds

    async def run(w: Writer, lat: list[float]) -> None:
        while (t0 := time.perf_counter()) < deadline:
            await store.events.insert_events([w.next_event()])
            lat.append(time.perf_counter() - t0)

    await asyncio.gather(*(run(w, lat) for w, lat in zip(writers, latencies, strict=True)))
    return [x for lat in latencies for x in lat]


def eventsourcing_round(
    recorder: PostgresApplicationRecorder, writers: list[Writer], seconds: float
) -> list[float]:
    """Append with one thread per writer until the deadline; return latencies."""
    latencies: list[list[float]] = [[] for _ in writers]
    errors: list[BaseException] = []
    start = threading.Barrier(len(writers) + 1)
    deadline = 0.0

    def run(w: Writer, lat: list[float]) -> None:
        start.wait()
        try:
            while (t0 := time.perf_counter()) < deadline:
                recorder.insert_events([w.next_event()])
                lat.append(time.perf_counter() - t0)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(w, lat), daemon=True)
        for w, lat in zip(writers, latencies, strict=True)
    ]
    for t in threads:
        t.start()
    deadline = time.perf_counter() + seconds
    start.wait()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [x for lat in latencies for x in lat]


async def sample_waits(dsn: str, stop: asyncio.Event, into: Counter[str]) -> None:
    """Tally what busy (non-idle) client backends are doing, ten times a second."""
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_type = 'client backend' "
                "AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            for r in rows:
                if r["state"] == "idle in transaction":
                    into["idle in transaction (client round trip)"] += 1
                elif r["wait_event_type"]:
                    into[f"{r['wait_event_type']}:{r['wait_event']}"] += 1
                else:
                    into["running on CPU"] += 1
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except TimeoutError:
                pass
    finally:
        await conn.close()


async def timed_round(
    system: str,
    dsn: str,
    stores: dict[str, Store],
    recorder: PostgresApplicationRecorder,
    writers: list[Writer],
    seconds: float,
) -> RoundResult:
    """Run one system for ``seconds`` and measure it (rate, latency, CPU, waits)."""
    before = sum(w.version for w in writers)
    waits: Counter[str] = Counter()
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_waits(dsn, stop, waits))
    host0, cpu0, t0 = _host_cpu(), time.process_time(), time.perf_counter()
    if system in stores:
        latencies = await gateledger_round(stores[system], writers, seconds)
    else:
        latencies = await asyncio.to_thread(eventsourcing_round, recorder, writers, seconds)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    host1 = _host_cpu()
    stop.set()
    await sampler
    busy = None
    if host0 and host1 and host1[1] > host0[1]:
        busy = (host1[0] - host0[0]) / (host1[1] - host0[1])
    return RoundResult(
        system=system,
        events=sum(w.version for w in writers) - before,
        elapsed=elapsed,
        latencies=latencies,
        client_cpu=cpu / elapsed,
        host_busy=busy,
        waits=waits,
    )


# --- set-up -----------------------------------------------------------------------------


async def unchain(conn: asyncpg.Connection, names: StoreNames) -> None:
    """Make a store's append functions the same as before the hash chain existed."""
    await conn.execute(insert_events_ddl(names, chain=False))
    await conn.execute(insert_event_groups_ddl(names, chain=False))


def datastore_for(url: str, schema: str, pool_size: int) -> PostgresDatastore:
    """eventsourcing's datastore for a libpq URL (including ``?host=/socket/dir`` URLs)."""
    parts = urlparse(url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    return PostgresDatastore(
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        host=host,
        port=parts.port or int(query.get("port", ["5432"])[0]),
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        schema=schema,
        pool_size=pool_size,
        max_waiting=0,  # unlimited: every writer has a connection anyway
    )


async def check_gapless(conn: asyncpg.Connection, schema: str, expected: int) -> bool:
    """Notification ids of ``schema`` are exactly 1..count and count is what we wrote."""
    table = StoreNames(schema=schema).q("stored_events")
    count, lo, hi = await conn.fetchrow(
        f"SELECT count(*), min(notification_id), max(notification_id) FROM {table}"
    )
    ok = count == expected and (count == 0 or (lo == 1 and hi == count))
    log(
        f"{schema}: {count} events (expected {expected}), ids {lo}..{hi}: "
        + ("gapless" if ok else "NOT gapless")
    )
    return ok


def summarize(results: list[RoundResult], system: str) -> dict[str, Any]:
    """Aggregate the rounds of one system."""
    mine = [r for r in results if r.system == system]
    events = sum(r.events for r in mine)
    elapsed = sum(r.elapsed for r in mine)
    latencies = [x for r in mine for x in r.latencies]
    waits: Counter[str] = Counter()
    for r in mine:
        waits.update(r.waits)
    total = sum(waits.values()) or 1
    busy = [r.host_busy for r in mine if r.host_busy is not None]
    return {
        "events": events,
        "seconds": round(elapsed, 3),
        "events_per_s": events / elapsed if elapsed else 0.0,
        "round_rates": [round(r.rate, 1) for r in mine],
        "latency_ms_p50": round(_percentile(latencies, 0.50) * 1000, 3),
        "latency_ms_p99": round(_percentile(latencies, 0.99) * 1000, 3),
        "client_cpu_cores": round(sum(r.client_cpu * r.elapsed for r in mine) / elapsed, 2),
        "host_cpu_busy": round(sum(busy) / len(busy), 2) if busy else None,
        "backend_states": {k: round(v / total, 3) for k, v in waits.most_common(5)},
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    """Set up both stores, warm up, run the alternating rounds, verify, clean up."""
    dsn, source = resolve_database(args.database_url)
    seconds: float = args.seconds if args.seconds is not None else (10.0 if args.quick else 20.0)
    rounds: int = args.rounds or max(2, round(seconds / 5))
    rounds += rounds % 2  # an even number, so the A B / B A order balances out
    warmup = 1.0 if args.quick else 2.0
    n = args.writers
    suffix = uuid.uuid4().hex[:10]
    gl_schema, es_schema = f"bench_gl_{suffix}", f"bench_es_{suffix}"
    un_schema = f"bench_un_{suffix}"

    admin = await asyncpg.connect(dsn)
    version = await admin.fetchval("SHOW server_version")
    max_conn = await admin.fetchval("SHOW max_connections")
    log(
        f"PostgreSQL {version} ({source}), max_connections={max_conn}, {n} writers, "
        f"{seconds:g} s each in {rounds} rounds of {seconds / rounds:g} s, warm-up {warmup:g} s"
    )
    stores: dict[str, Store] = {}
    datastore: PostgresDatastore | None = None
    try:
        for system, schema in ((GATELEDGER, gl_schema), (UNCHAINED, un_schema)):
            stores[system] = await open_store(
                dsn, StoreNames(schema=schema), stored_names=None, min_size=n, max_size=n
            )
        await unchain(admin, StoreNames(schema=un_schema))
        stores[UNCHAINED].events.make_leaves = False  # nor does it make the digests
        # eventsourcing's recorder works on a schema Gateledger created, as in production.
        await create_schema(admin, StoreNames(schema=es_schema))
        datastore = datastore_for(dsn, es_schema, n)
        recorder = PostgresApplicationRecorder(datastore, events_table_name="stored_events")
        await asyncio.to_thread(recorder.create_table)
        # Open the pool up front and wait for all its connections (opening it lazily
        # with wait=True from many threads at once trips an assertion in psycopg_pool).
        await asyncio.to_thread(datastore.pool.open, True, 30.0)
        log(f"schemas {gl_schema} (Gateledger) and {es_schema} (eventsourcing) ready")

        writers = {system: [Writer() for _ in range(n)] for system in SYSTEMS}

        for system in SYSTEMS:
            r = await timed_round(system, dsn, stores, recorder, writers[system], warmup)
            log(f"warm-up {system:13s} {r.rate:8.0f} events/s")

        results: list[RoundResult] = []
        for i in range(rounds):
            order = SYSTEMS[i % 3 :] + SYSTEMS[: i % 3]  # each system first in turn
            for system in order if i % 2 == 0 else reversed(order):
                r = await timed_round(
                    system, dsn, stores, recorder, writers[system], seconds / rounds
                )
                results.append(r)
                busy = f"{r.host_busy:.0%}" if r.host_busy is not None else "n/a"
                top = ", ".join(
                    f"{k} {v / max(1, r.waits.total()):.0%}" for k, v in r.waits.most_common(3)
                )
                log(
                    f"round {i + 1}/{rounds} {system:13s} {r.rate:8.0f} events/s "
                    f"({r.events} in {r.elapsed:.2f} s), p50 "
                    f"{_percentile(r.latencies, 0.5) * 1000:.1f} ms, p99 "
                    f"{_percentile(r.latencies, 0.99) * 1000:.1f} ms, client CPU "
                    f"{r.client_cpu:.2f} cores, host busy {busy}; backends: {top}"
                )

        written = {s: sum(w.version for w in writers[s]) for s in SYSTEMS}
        gapless = all(
            [
                await check_gapless(admin, gl_schema, written[GATELEDGER]),
                await check_gapless(admin, un_schema, written[UNCHAINED]),
                await check_gapless(admin, es_schema, written[EVENTSOURCING]),
            ]
        )
        chained = await verify_chain(stores[GATELEDGER].pool, stores[GATELEDGER].names)
        log(f"{gl_schema}: chain {'intact' if chained.intact else 'BROKEN'}, {chained.checked}")
    finally:
        if datastore is not None:
            await asyncio.to_thread(datastore.close)
        for opened in stores.values():
            await opened.close()
        for schema in (gl_schema, un_schema, es_schema):
            await drop_schema(admin, schema)
        await admin.close()
        log(f"dropped schemas {gl_schema}, {un_schema} and {es_schema}")

    gl = summarize(results, GATELEDGER)
    un = summarize(results, UNCHAINED)
    es = summarize(results, EVENTSOURCING)
    gl_rate, es_rate = float(gl.pop("events_per_s")), float(es.pop("events_per_s"))
    un_rate = float(un.pop("events_per_s"))
    log(f"Gateledger    {gl_rate:8.0f} events/s  {gl}")
    log(f"unchained     {un_rate:8.0f} events/s  {un}")
    log(f"eventsourcing {es_rate:8.0f} events/s  {es}")
    return {
        "gateledger_events_per_s": round(gl_rate, 1),
        "unchained_events_per_s": round(un_rate, 1),
        "eventsourcing_events_per_s": round(es_rate, 1),
        "ratio": round(gl_rate / es_rate, 3) if es_rate else None,
        # The chain's cost: chained appends over the same appends without the chain.
        "chain_ratio": round(gl_rate / un_rate, 3) if un_rate else None,
        "chain_intact": chained.intact,
        "writers": n,
        "seconds_each": seconds,
        "rounds": rounds,
        "database": source,
        "server_version": version,
        "gapless": gapless,
        "gateledger": gl,
        "unchained": un,
        "eventsourcing": es,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = bench_parser(__doc__, "~10 s per system instead of 20 s")
    p.add_argument("--seconds", type=float, help="measured seconds per system")
    p.add_argument("--rounds", type=int, help="alternating rounds (default: ~5 s each)")
    p.add_argument("--writers", type=int, default=32, help="concurrent writers (default 32)")
    args = p.parse_args(argv)
    if args.writers < 1:
        p.error("--writers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    result = asyncio.run(run(parse_args(argv)))
    print_result(result)
    return 0 if result["gapless"] and result["chain_intact"] else 1


if __name__ == "__main__":
    sys.exit(main())
