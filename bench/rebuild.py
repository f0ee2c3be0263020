"""Rebuild throughput: how fast the event log turns into all read models, vs a raw scan.

Loads a realistic dataset (``bench.dataset``) into a fresh schema, then measures

* the raw asyncpg scan rate of the events table (keyset batches of 5000, rows/s), and
* ``projections.rebuild.rebuild`` for every projection in ``all_projections()``, one
  after the other: ``rebuild_events_per_s`` = events in the log / total wall seconds.

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
import pstats
import sys
import time
import uuid
from typing import Any

import asyncpg

from bench.dataset import (
    DatasetInfo,
    add_dataset_options,
    bench_parser,
    dataset_size,
    load_dataset,
    log,
    print_result,
    resolve_database,
)
from eventstore.database import Store, open_store
from eventstore.recorder import select_event_rows_on
from eventstore.schema import StoreNames, drop_schema
from projections.base import Projection
from projections.changes import change_of
from projections.rebuild import rebuild_many
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


async def _loaded(store: Store) -> DatasetInfo | None:
    """What an earlier ``--schema`` run left in the schema, or None if it holds nothing."""
    async with store.pool.acquire() as conn:
        ev = store.names.q(store.names.events)
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", ev):
            return None
        n = await conn.fetchval(f"SELECT count(*) FROM {ev}")
        if not n:
            return None
        ids = await conn.fetch(
            f"SELECT originator_id FROM {ev} WHERE originator_version = 1 "
            "AND topic LIKE '%:Project.Created'"
        )
    return DatasetInfo(events=n, projects=[r[0] for r in ids])


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
    store = await open_store(dsn, StoreNames(schema=schema), min_size=2, max_size=6)
    try:
        async with store.pool.acquire() as conn:
            version = await conn.fetchval("SHOW server_version")
        log(f"PostgreSQL {version} ({source}); schema {schema}; {events:,} events")
        info = await _loaded(store) if args.schema else None
        if info is None or info.events != events:
            if info is not None:
                raise SystemExit(f"schema {schema} holds {info.events:,} events, not {events:,}")
            info = await load_dataset(store, events, projects)
        else:
            log(f"reusing the {info.events:,} events already in schema {schema}")
        async with store.pool.acquire() as conn:
            await create_tables(conn, store.names)

        rows, scan_s = await scan(store)  # one warm-up pass: both runs read a warm cache
        rows, scan_s = await scan(store)
        scan_rate = rows / scan_s
        log(f"raw scan: {rows:,} rows in {scan_s:.2f} s = {scan_rate:,.0f} rows/s")

        total_s, per = await rebuild_all(store, info.events)
        rebuild_rate = info.events / total_s
        log(f"all read models: {info.events:,} events in {total_s:.1f} s = {rebuild_rate:,.0f}/s")

        split = None
        if args.profile:
            split = await profile_apply(store, min(50_000, info.events))
    finally:
        if args.schema:
            log(f"kept schema {schema} (--schema)")
        else:
            async with store.pool.acquire() as conn:
                await drop_schema(conn, schema)
            log(f"dropped schema {schema}")
        await store.close()
    result: dict[str, Any] = {
        "rebuild_events_per_s": round(rebuild_rate, 1),
        "scan_rows_per_s": round(scan_rate, 1),
        "ratio": round(rebuild_rate / scan_rate, 4),
        "events": info.events,
        "projects": len(info.projects),
        "per_projection": per,
        "rebuild_seconds": round(total_s, 3),
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
    p.add_argument(
        "--schema",
        help="load into this schema and keep it; a later run with the same name reuses it",
    )
    p.add_argument("--profile", action="store_true", help="cProfile a 50k-event rebuild")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON summary as the last line on stdout."""
    return print_result(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())
