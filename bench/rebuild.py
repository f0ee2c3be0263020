"""Rebuild throughput: how fast the event log turns into all read models, vs a raw scan.

Loads a realistic dataset (``bench.dataset``) into a fresh schema, then measures

* the raw asyncpg scan rate of the events table (keyset batches of 5000, rows/s), and
* ``projections.engine.rebuild.rebuild_many`` of every projection in ``all_projections()``
  (one pass): ``rebuild_events_per_s`` = events in the log / total wall seconds, and
  the CPU seconds it cost this process and, when the server runs on this machine, the
  PostgreSQL server processes (``cpu_client_s``, ``cpu_server_s``), and
* a floor for the writes: the same rows copied by the server from the rebuilt tables
  into fresh ones (no client, no projection logic) and the same indexes built the way a
  rebuild builds them (``writes_only_events_per_s``: the rate a rebuild could reach if
  reading the log and every line of projection logic cost nothing), and the same
  writes side by side with a raw scan (``scan_and_writes_events_per_s``: a rebuild
  with no projection logic at all).

``--profile`` also runs cProfile over the apply loop of a 50k-event rebuild (the same
select / decode / apply / commit steps ``rebuild`` takes) and prints where time goes.
Progress goes to stderr; the last line on stdout is one JSON object. The schema is
dropped at the end.

    .venv/bin/python -m bench.rebuild --quick
    .venv/bin/python -m bench.rebuild --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import time
import uuid
from typing import Any

import asyncpg

from bench.dataset import (
    add_dataset_options,
    add_schema_option,
    bench_parser,
    close_store,
    dataset_size,
    load_or_reuse,
    log,
    print_result,
    resolve_database,
)
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from eventstore.recorder import select_event_rows_on
from eventstore.schema import StoreNames
from projections.engine.events import change_of
from projections.engine.read_model import Projection
from projections.engine.rebuild import INDEX_WORKERS, build_index, is_index, rebuild_many
from projections.registry import all_projections, create_tables

SCAN_BATCH = 5000


async def scan(store: Store) -> tuple[int, float]:
    """Read every row of the events table by keyset; returns (rows, seconds)."""
    sql = (
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {store.names.q(store.names.events)} WHERE notification_id > $1 "
        "ORDER BY notification_id LIMIT $2"
    )
    rows = 0
    last = 0
    t0 = time.perf_counter()
    async with store.pool.acquire() as conn:
        stmt = await conn.prepare(sql)
        while True:
            batch = await stmt.fetch(last, SCAN_BATCH)
            if not batch:
                break
            rows += len(batch)
            last = batch[-1][0]
    return rows, time.perf_counter() - t0


async def rebuild_all(store: Store, events: int) -> tuple[float, dict[str, Any]]:
    """Rebuild every read model in one pass over the log (what ``gateledger rebuild`` does)."""
    last = [time.perf_counter()]

    def progress(position: int, head: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 5:
            last[0] = now
            log(f"rebuild: {position:,}/{head:,}")

    t0 = time.perf_counter()
    result = await rebuild_many(store, all_projections(), batch_size=5000, progress=progress)
    seconds = time.perf_counter() - t0
    log(f"rebuild {result.projection}: {result.events:,} events in {seconds:.1f} s")
    if result.events != events:
        log(f"WARNING: the rebuild applied {result.events} events, the log has {events}")
    log("phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.phases.items()))
    per = {
        result.projection: {
            "events": result.events,
            "seconds": round(seconds, 3),
            "phases_s": {k: round(v, 3) for k, v in result.phases.items()},
        }
    }
    return seconds, per


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # fields after ") ": state ppid ... utime(12) stime(13) cutime(14) cstime(15)
    parts = stat[stat.rindex(")") + 2 :].split()
    ticks = sum(int(parts[i]) for i in (11, 12, 13, 14))
    return int(parts[1]), ticks / os.sysconf("SC_CLK_TCK")


async def server_cpu_seconds(store: Store) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL cluster serving ``store``: its
    postmaster (with the children it has reaped) and every live child. None when that
    cluster's processes are not on this machine."""
    async with store.pool.acquire() as conn:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
    found = _stat(backend)
    if found is None:
        return None
    postmaster = found[0]
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pid = int(entry)
            info = _stat(pid)
            if info is not None and (pid == postmaster or info[0] == postmaster):
                total += info[1]
    return total


async def writes_only(store: Store) -> tuple[int, float]:
    """Write what the rebuild wrote with no client in the way: each rebuilt table copied
    by the server into a fresh one made by the projection's own DDL, then its indexes
    built ``INDEX_WORKERS`` at a time, as ``rebuild`` builds them. Returns (rows, s)."""
    suffix = "__floor"
    indexing = asyncio.Semaphore(INDEX_WORKERS)
    projections = all_projections()

    async with store.pool.acquire() as conn:
        for projection in projections:  # left by an interrupted run
            await _drop_tables(conn, store, projection, suffix)
    try:
        return await _copy_and_index(store, projections, suffix, indexing)
    finally:
        async with store.pool.acquire() as conn:
            for projection in projections:
                await _drop_tables(conn, store, projection, suffix)


async def _copy_and_index(
    store: Store, projections: list[Projection], suffix: str, indexing: asyncio.Semaphore
) -> tuple[int, float]:
    names = store.names
    rows = 0
    t0 = time.perf_counter()
    async with store.pool.acquire() as conn:
        for projection in projections:
            statements = projection.ddl(names, suffix)
            for statement in statements:
                if not is_index(statement):
                    await conn.execute(statement)
            for base in projection.tables:
                columns = await conn.fetch(
                    "SELECT quote_ident(column_name) FROM information_schema.columns "
                    "WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER' "
                    "ORDER BY ordinal_position",
                    names.schema,
                    base,
                )
                listed = ", ".join(c[0] for c in columns)
                status = await conn.execute(
                    f"INSERT INTO {names.q(base + suffix)} ({listed}) "
                    f"SELECT {listed} FROM {names.q(base)}"
                )
                rows += int(status.split()[-1])
        await asyncio.gather(
            *(
                build_index(store.pool, st, indexing)
                for p in projections
                for st in p.ddl(names, suffix)
                if is_index(st)
            )
        )
    return rows, time.perf_counter() - t0


async def profile_apply(store: Store, limit: int, batch_size: int = 5000) -> dict[str, Any]:
    """cProfile the apply loop of every projection over the first ``limit`` events."""
    split: dict[str, dict[str, float]] = {}
    profiler = cProfile.Profile()
    async with store.pool.acquire() as conn:
        for projection in all_projections():
            suffix = "__pf" + uuid.uuid4().hex[:6]
            for statement in projection.ddl(store.names, suffix):
                await conn.execute(statement)
            times = split.setdefault(projection.name, {"select": 0.0, "decode": 0.0, "apply": 0.0})
            position = 0
            profiler.enable()
            while position < limit:
                t0 = time.perf_counter()
                notes = await select_event_rows_on(
                    conn, store.names, position, min(batch_size, limit - position)
                )
                t1 = time.perf_counter()
                if not notes:
                    break
                changes = [change_of(*n) for n in notes]
                t2 = time.perf_counter()
                async with conn.transaction():
                    await projection.apply(conn, store.names, changes, suffix)
                t3 = time.perf_counter()
                times["select"] += t1 - t0
                times["decode"] += t2 - t1
                times["apply"] += t3 - t2
                position = notes[-1][0]
            profiler.disable()
            await _drop_tables(conn, store, projection, suffix)
    for name, times in split.items():
        total = sum(times.values())
        log(
            f"profile split {name} ({limit:,} events, {total:.2f} s under cProfile): "
            + ", ".join(f"{k} {v:.2f} s ({v / total:.0%})" for k, v in times.items())
        )
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(15)
        log(f"cProfile top 15 by {order}:\n{out.getvalue()}")
    return {k: {s: round(v, 3) for s, v in t.items()} for k, t in split.items()}


async def _drop_tables(
    conn: asyncpg.Connection, store: Store, projection: Projection, suffix: str
) -> None:
    for base in projection.tables:
        await conn.execute(f"DROP TABLE IF EXISTS {store.names.q(base + suffix)}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load, scan, rebuild, (profile), drop."""
    dsn, source = resolve_database(args.database_url)
    events, projects = dataset_size(args)
    schema = args.schema or f"bench_rb_{uuid.uuid4().hex[:10]}"
    store = await open_store(
        dsn,
        StoreNames(schema=schema),
        stored_names=STORED_NAMES,
        min_size=2,
        max_size=len(all_projections()) + 4,
    )
    try:
        async with store.pool.acquire() as conn:
            version = await conn.fetchval("SHOW server_version")
        log(f"PostgreSQL {version} ({source}); schema {schema}; {events:,} events")
        info = await load_or_reuse(store, events, projects, keep=bool(args.schema))
        async with store.pool.acquire() as conn:
            await create_tables(conn, store.names)

        rows, scan_s = await scan(store)  # one warm-up pass: both runs read a warm cache
        rows, scan_s = await scan(store)
        scan_rate = rows / scan_s
        log(f"raw scan: {rows:,} rows in {scan_s:.2f} s = {scan_rate:,.0f} rows/s")

        server0, client0 = await server_cpu_seconds(store), time.process_time()
        total_s, per = await rebuild_all(store, info.events)
        client_cpu = time.process_time() - client0
        server1 = await server_cpu_seconds(store)
        server_cpu = server1 - server0 if server0 is not None and server1 is not None else None
        rebuild_rate = info.events / total_s
        log(f"all read models: {info.events:,} events in {total_s:.1f} s = {rebuild_rate:,.0f}/s")
        log(
            f"CPU during the rebuild: this process {client_cpu:.1f} s, PostgreSQL "
            + (f"{server_cpu:.1f} s" if server_cpu is not None else "not visible (remote)")
            + f", on {os.cpu_count()} cores"
        )
        floor_rows, floor_s = await writes_only(store)
        floor_rate = info.events / floor_s
        log(
            f"writes only (server copies the {floor_rows:,} rebuilt rows, builds the same "
            f"indexes): {floor_s:.1f} s = {floor_rate:,.0f} events/s"
        )
        t0 = time.perf_counter()
        await asyncio.gather(scan(store), writes_only(store))
        both_s = time.perf_counter() - t0
        both_rate = info.events / both_s
        log(
            f"raw scan and writes only side by side (a rebuild with no projection logic): "
            f"{both_s:.1f} s = {both_rate:,.0f} events/s"
        )

        split = None
        if args.profile:
            split = await profile_apply(store, min(50_000, info.events))
    finally:
        await close_store(store, keep=bool(args.schema))
    result: dict[str, Any] = {
        "rebuild_events_per_s": round(rebuild_rate, 1),
        "scan_rows_per_s": round(scan_rate, 1),
        "ratio": round(rebuild_rate / scan_rate, 4),
        "events": info.events,
        "projects": len(info.projects),
        "per_projection": per,
        "rebuild_seconds": round(total_s, 3),
        "cpu_client_s": round(client_cpu, 2),
        "cpu_server_s": round(server_cpu, 2) if server_cpu is not None else None,
        "cores": os.cpu_count(),
        "writes_only_events_per_s": round(floor_rate, 1),
        "writes_only_seconds": round(floor_s, 3),
        "writes_only_rows": floor_rows,
        "scan_and_writes_events_per_s": round(both_rate, 1),
        "scan_and_writes_seconds": round(both_s, 3),
        "scan_seconds": round(scan_s, 3),
        "load_seconds": round(info.load_seconds, 1),
        "load_events_per_s": round(info.events / info.load_seconds, 1)
        if info.load_seconds
        else None,
        "database": source,
        "server_version": version,
    }
    if split is not None:
        result["profile_split_s"] = split
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = bench_parser(__doc__, "100k events / 1k projects")
    add_dataset_options(p)
    add_schema_option(p)
    p.add_argument("--profile", action="store_true", help="cProfile a 50k-event rebuild")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    return print_result(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())
