"""The audit trail as NDJSON or CSV bytes, streamed in chunks (constant memory)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from eventstore.schema import StoreNames
from projections.audit_trail import COLUMNS, AuditFilter, stream

CHUNK = 64 * 1024


async def export_lines(
    pool: asyncpg.Pool, names: StoreNames, f: AuditFilter, fmt: str
) -> AsyncIterator[bytes]:
    """Chunks of about 64 KiB of NDJSON lines or CSV rows (with a header)."""
    rows = stream(pool, names, f)
    if fmt == "csv":
        async for chunk in _csv(rows):
            yield chunk
    else:
        async for chunk in _ndjson(rows):
            yield chunk


async def _ndjson(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    encoder = msgspec.json.Encoder()
    buffer = bytearray()
    async for row in rows:
        buffer += encoder.encode(row)
        buffer += b"\n"
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


async def _csv(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    async for row in rows:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
        if text.tell() >= CHUNK:
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else str(value)
