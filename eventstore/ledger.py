"""The ledger export: every stored event with its chain hash, for outside verification.

One NDJSON line per position, in order, with exactly what the chain covers:
``{"position", "originator_id", "originator_version", "topic", "state", "hash"}``, the
state in base64 and the hash in hex. A position that has an event but no hash, or a
hash but no event, is exported as it is (the missing side as null), so the standalone
verifier sees what ``gateledger verify`` sees. docs/audit.md describes the format.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import asyncpg
import msgspec

from eventstore.schema import StoreNames

CHUNK = 64 * 1024


def ledger_sql(names: StoreNames) -> str:
    ev, chain = names.q(names.events), names.q("gl_chain")
    return (
        "SELECT coalesce(e.notification_id, c.position) AS p, e.originator_id, "
        "e.originator_version, e.topic, e.state, c.hash, e.notification_id "
        f"FROM (SELECT * FROM {ev} WHERE notification_id > $1) e "
        f"FULL JOIN (SELECT * FROM {chain} WHERE position > $1) c "
        "ON c.position = e.notification_id ORDER BY 1"
    )


async def export_ledger(
    pool: asyncpg.Pool, names: StoreNames, *, after: int = 0, prefetch: int = 5000
) -> AsyncIterator[bytes]:
    """Chunks of about 64 KiB of NDJSON lines from position ``after`` + 1 to the end."""
    encode = msgspec.json.Encoder().encode
    buffer = bytearray()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        async for r in conn.cursor(ledger_sql(names), after, prefetch=prefetch):
            present = r[6] is not None
            buffer += encode(
                {
                    "position": r[0],
                    "originator_id": str(r[1]) if present else None,
                    "originator_version": r[2],
                    "topic": r[3],
                    "state": base64.b64encode(r[4]).decode() if r[4] is not None else None,
                    "hash": bytes(r[5]).hex() if r[5] is not None else None,
                }
            )
            buffer += b"\n"
            if len(buffer) >= CHUNK:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)
