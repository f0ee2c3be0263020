"""Chain verification speed: ``verify_chain`` over a realistic log, against its floors.

In the same run, over the same rows of one log (``bench.dataset``, 1M events; 100k with
``--quick``):

* ``scan``: a raw asyncpg read of the rows verification reads (position, originator id,
  version, topic, state), page by page as verification pages, nothing else done;
* ``sha256``: bare ``hashlib.sha256`` over each event's canonical bytes (built before
  the clock starts), one digest per event;
* ``verify``: ``eventstore.verify.verify_chain`` from position 0: reading, the chain
  rows, canonical bytes, two digests per event, comparisons.

``ratio`` = verify / the slower of scan and sha256 (target: at least 0.5, i.e. verifying
costs at most as much again as reading and hashing). The last line on stdout is one JSON
object of the figures.

    .venv/bin/python -m bench.verify --quick
    .venv/bin/python -m bench.verify --database-url postgresql://postgres@127.0.0.1/test \\
        --schema bench_1m
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import sys
import time
import uuid

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
from eventstore.database import open_store
from eventstore.schema import StoreNames
from eventstore.verify import PAGE, verify_chain


async def scan(store_pool: object, names: StoreNames, end: int) -> tuple[float, list[object]]:
    """Seconds to read every row as verification does, and the rows."""
    ev = names.q(names.events)
    sql = (
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {ev} WHERE notification_id > $1 AND notification_id <= $2 "
        "ORDER BY notification_id"
    )
    rows: list[object] = []
    t0 = time.perf_counter()
    for lo in range(0, end, PAGE):
        rows += await store_pool.fetch(sql, lo, lo + PAGE)  # type: ignore[attr-defined]
    return time.perf_counter() - t0, rows


def hash_floor(rows: list[object]) -> float:
    """Seconds of bare sha256 over each event's canonical bytes (built beforehand)."""
    q, i = struct.Struct(">q").pack, struct.Struct(">i").pack
    blobs = []
    for r in rows:
        topic = (r[3] or "").encode()  # type: ignore[index]
        state = r[4] or b""  # type: ignore[index]
        blobs.append(r[1].bytes + q(r[2]) + i(len(topic)) + topic + i(len(state)) + state)  # type: ignore[index]
    sha = hashlib.sha256
    t0 = time.perf_counter()
    for b in blobs:
        sha(b).digest()
    return time.perf_counter() - t0


async def run(args: object) -> dict[str, object]:
    dsn, source = resolve_database(args.database_url)  # type: ignore[attr-defined]
    events, projects = dataset_size(args)  # type: ignore[arg-type]
    keep = bool(args.schema)  # type: ignore[attr-defined]
    schema = args.schema or f"bench_verify_{uuid.uuid4().hex[:8]}"  # type: ignore[attr-defined]
    store = await open_store(
        dsn, StoreNames(schema=schema), stored_names=STORED_NAMES, min_size=2, max_size=4
    )
    try:
        await load_or_reuse(store, events, projects, keep)
        end = await store.events.max_notification_id() or 0
        version = await store.pool.fetchval("SHOW server_version")
        log(f"PostgreSQL {version} ({source}); {end:,} events in {schema}")
        scan_s, rows = await scan(store.pool, store.names, end)
        log(f"scan   {end / scan_s:12,.0f} rows/s ({scan_s:.2f} s)")
        sha_s = hash_floor(rows)
        del rows
        log(f"sha256 {end / sha_s:12,.0f} events/s ({sha_s:.2f} s)")
        last = [time.perf_counter()]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] >= 5:
                last[0] = time.perf_counter()
                log(f"verifying: {done:,} of {total:,}")

        t0 = time.perf_counter()
        report = await verify_chain(store.pool, store.names, progress=progress)
        verify_s = time.perf_counter() - t0
        log(
            f"verify {end / verify_s:12,.0f} events/s ({verify_s:.2f} s): "
            f"{'intact' if report.intact else 'BROKEN'}, {report.checked:,} checked"
        )
    finally:
        await close_store(store, keep)
    floor = max(scan_s, sha_s)
    return {
        "events": end,
        "verify_events_per_s": round(end / verify_s),
        "scan_rows_per_s": round(end / scan_s),
        "sha256_events_per_s": round(end / sha_s),
        "ratio": round(floor / verify_s, 3),
        "intact": report.intact,
        "database": source,
        "server_version": version,
    }


def main(argv: list[str] | None = None) -> int:
    p = bench_parser(__doc__, "100k events instead of 1M")
    add_dataset_options(p)
    add_schema_option(p)
    args = p.parse_args(argv)
    for name in ("events", "projects"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name} must be at least 1")
    result = asyncio.run(run(args))
    print_result(result)
    return 0 if result["intact"] else 1


if __name__ == "__main__":
    sys.exit(main())
