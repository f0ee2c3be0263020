"""The hash chain over the stored events, and the database's append-only guard.

Each event's hash covers its canonical bytes and the hash of the event before it, so a
changed, deleted, inserted or reordered row breaks the chain from that position on.
The chain is extended inside the append transaction, under the events table's lock, by
the append functions (``eventstore.chain_sql``, inlined in them). The algorithm, byte for byte, is
specified in docs/audit.md; this module and the standalone verifier in ``tools/``
implement it independently.

    leaf(e)  = SHA-256( uuid(originator_id) || int8(originator_version)
                        || int4(len(topic)) || topic (UTF-8) || int4(len(state)) || state )
    hash(n)  = SHA-256( hash(n-1) || int8(n) || leaf(event at position n) ),
    hash(0)  = 32 zero bytes

An event's leaf does not depend on its position, so the writer computes it before the
append (``leaf_digest``) and the append function only links the leaves under the lock;
the verification recomputes every leaf from the stored bytes, so a wrong one is found.
Integers are big-endian and signed (int8 = 8 bytes, int4 = 4 bytes); a NULL topic or
state is hashed as empty.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from collections.abc import Sequence

    import asyncpg
    from eventsourcing.persistence import StoredEvent

    from eventstore.schema import StoreNames

GENESIS = bytes(32)
_pack_q = struct.Struct(">q").pack
_pack_i = struct.Struct(">i").pack
_sha256 = hashlib.sha256


def leaf_digest(originator_id: bytes, version: int, topic: bytes, state: bytes) -> bytes:
    """The digest of one event's canonical bytes."""
    return _sha256(
        originator_id + _pack_q(version) + _pack_i(len(topic)) + topic + _pack_i(len(state)) + state
    ).digest()


def leaves(events: Sequence[StoredEvent]) -> list[bytes]:
    """Each event's leaf digest: the writer makes them, so that the append function
    only links them under the lock."""
    return [
        leaf_digest(_id_bytes(e.originator_id), e.originator_version, e.topic.encode(), e.state)
        for e in events
    ]


def _id_bytes(originator_id: UUID | str) -> bytes:
    """An originator id's 16 bytes (eventsourcing types ids ``UUID | str``; this store's
    column is ``uuid``, so a text id must be one)."""
    return (originator_id if isinstance(originator_id, UUID) else UUID(originator_id)).bytes


def link(previous: bytes, position: int, leaf: bytes) -> bytes:
    """The chain hash at ``position`` of an event whose leaf digest is ``leaf``."""
    return _sha256(previous + _pack_q(position) + leaf).digest()


async def chain_hashes(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames, lo: int, hi: int
) -> dict[int, bytes]:
    """The stored chain hash of every position in ``(lo, hi]`` that has one."""
    chain = names.q("gl_chain")
    # The rows ending in the range, and the one row that may start in it and end after
    # it: both index range scans (a filter on first_position would read to the end).
    rows = await conn.fetch(
        f"SELECT first_position, position, hashes FROM {chain} "
        "WHERE position > $1 AND position <= $2 "
        f"UNION ALL (SELECT first_position, position, hashes FROM {chain} WHERE position > $2 "
        "ORDER BY position LIMIT 1)",
        lo,
        hi,
    )
    found: dict[int, bytes] = {}
    for first, last, hashes in rows:
        if len(hashes) != 32 * (last - first + 1):
            continue  # a malformed row vouches for none of its positions
        for k in range(len(hashes) // 32):
            if lo < first + k <= hi:
                found[first + k] = hashes[32 * k : 32 * k + 32]
    return found


async def chain_head(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames
) -> tuple[int, bytes] | None:
    """``(position, hash)`` of the chain's head, or None for an empty chain."""
    row = await conn.fetchrow(
        f"SELECT position, substring(hashes FROM octet_length(hashes) - 31) "
        f"FROM {names.q('gl_chain')} ORDER BY position DESC LIMIT 1"
    )
    return None if row is None else (row[0], bytes(row[1]))
