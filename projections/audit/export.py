"""The audit trail as NDJSON or CSV bytes, streamed in chunks (constant memory)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import asyncpg

from eventstore.ledger import ndjson_chunks
from eventstore.schema import StoreNames
from projections.audit.model import COLUMNS, AuditFilter, stream

CHUNK = 64 * 1024


def export_lines(
    pool: asyncpg.Pool, names: StoreNames, f: AuditFilter, fmt: str
) -> AsyncGenerator[bytes, None]:
    """Chunks of about 64 KiB of NDJSON lines or CSV rows (with a header). Closing them
    ends the database cursor at once."""
    rows = stream(pool, names, f)
    return _csv(rows) if fmt == "csv" else ndjson_chunks(rows)


async def _csv(rows: AsyncGenerator[dict[str, Any], None]) -> AsyncGenerator[bytes, None]:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    try:
        async for row in rows:
            writer.writerow([_cell(row[c]) for c in COLUMNS])
            if text.tell() >= CHUNK:
                yield text.getvalue().encode()
                text.seek(0)
                text.truncate()
        yield text.getvalue().encode()
    finally:
        await rows.aclose()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else str(value)
