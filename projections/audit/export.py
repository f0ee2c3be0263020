"""The audit trail as NDJSON or CSV bytes, streamed in chunks (constant memory). In CSV,
a text cell that a spreadsheet would take for a formula (it starts with = + - @, a tab
or a carriage return, and is not a number) is written with a leading apostrophe, so it
opens as text; NDJSON and the ledger export keep every value exactly."""

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


# A cell a spreadsheet would run as a formula (OWASP's "CSV injection"): a rationale of
# =HYPERLINK(...) must open as the text it is. Numbers keep their sign.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
