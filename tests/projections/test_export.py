"""Exporting the audit trail streams in constant memory, whatever its length."""

from __future__ import annotations

import csv
import io
import tracemalloc

import msgspec

from eventstore.database import Store
from projections.audit.export import export_lines
from projections.audit.model import AuditFilter
from projections.registry import create_tables

ROWS = 100_000


async def fill_audit(store: Store, rows: int) -> None:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
        await conn.execute(
            f"INSERT INTO {store.names.q('rm_audit')} SELECT g, now() - make_interval(secs => "
            f"{rows} - g), gen_random_uuid(), 'Project', 'Project.VoteCast', 'gk' || (g % 50), "
            "NULL, gen_random_uuid(), gen_random_uuid(), 'corr-' || g, "
            "'gk' || (g % 50) || ' voted approve on G1 after reading the business case' "
            "FROM generate_series(1, $1) g",
            rows,
        )


async def test_export_of_100k_events_streams_in_constant_memory(store: Store) -> None:
    await fill_audit(store, ROWS)
    tracemalloc.start()
    try:
        lines = size = 0
        last_position = 0
        async for chunk in export_lines(store.pool, store.names, AuditFilter(), "ndjson"):
            size += len(chunk)
            for line in chunk.splitlines():
                position = msgspec.json.decode(line)["position"]
                assert position == last_position + 1
                last_position = position
                lines += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == ROWS
    assert size > 25_000_000
    # The whole export is >25 MB; what is held at any moment stays a small constant.
    assert peak < 4_000_000, f"peak {peak:,} bytes"


async def test_csv_export_has_a_header_and_one_row_per_event(store: Store) -> None:
    await fill_audit(store, 1000)
    body = b"".join([c async for c in export_lines(store.pool, store.names, AuditFilter(), "csv")])
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 1000 and rows[0]["type"] == "Project.VoteCast"
    assert rows[-1]["position"] == "1000"
