"""The ledger export: every stored event with its chain hash, for outside verification.

One NDJSON line per position, in order, with exactly what the chain covers:
``{"position", "originator_id", "originator_version", "topic", "state", "hash"}``, the
state in base64 and the hash in hex. A position that has an event but no hash, or a
hash but no event, is exported as it is (the missing side as null), so the standalone
verifier sees what ``gateledger verify`` sees. docs/audit.md describes the format.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import AsyncGenerator
from typing import Any

import asyncpg
import msgspec

from eventstore.schema import StoreNames
from eventstore.verify import PAGE, log_end, read_page

CHUNK = 64 * 1024


async def ndjson_chunks(rows: AsyncGenerator[Any, None]) -> AsyncGenerator[bytes, None]:
    """Rows as NDJSON, in chunks of about 64 KiB (streamed exports). Closing the chunks
    closes ``rows`` at once: they may hold a connection in a transaction."""
    encode = msgspec.json.Encoder().encode
    buffer = bytearray()
    try:
        async for row in rows:
            buffer += encode(row)
            buffer += b"\n"
            if len(buffer) >= CHUNK:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)
    finally:
        await rows.aclose()


def export_ledger(
    pool: asyncpg.Pool, names: StoreNames, *, after: int = 0, page: int = PAGE
) -> AsyncGenerator[bytes, None]:
    """Chunks of about 64 KiB of NDJSON lines from position ``after`` + 1 to the end, read
    in one snapshot of the database (closing them ends the snapshot's transaction)."""
    return ndjson_chunks(_ledger_rows(pool, names, after, page))


async def _ledger_rows(
    pool: asyncpg.Pool, names: StoreNames, after: int, page: int
) -> AsyncGenerator[dict[str, Any], None]:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        end = await log_end(conn, names)
        # rows below position 1 are outside the chain: exported too, for the verifier
        first = await conn.fetchval(f"SELECT min(notification_id) FROM {names.q(names.events)}")
        if first is not None:
            after = min(after, first - 1)
        for lo in range(after, end, page):
            for p, r, stored in await read_page(conn, names, lo, min(lo + page, end)):
                yield {
                    "position": p,
                    "originator_id": None if r is None else str(r[1]),
                    "originator_version": None if r is None else r[2],
                    "topic": None if r is None else r[3],
                    "state": None if r is None or r[4] is None else b64encode(r[4]).decode(),
                    "hash": None if stored is None else stored.hex(),
                }
