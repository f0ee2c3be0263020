"""The hash chain over the stored events, and the database's append-only guard.

Each event's hash covers its canonical bytes and the hash of the event before it, so a
changed, deleted, inserted or reordered row breaks the chain from that position on.
The chain is extended inside the append transaction, under the events table's lock
(``gl_chain_extend``, called by the insert functions). The algorithm, byte for byte, is
specified in docs/audit.md; this module and the standalone verifier in ``tools/``
implement it independently.

    leaf(n)  = SHA-256( int8(position) || uuid(originator_id) || int8(originator_version)
                        || int4(len(topic)) || topic (UTF-8) || int4(len(state)) || state )
    hash(n)  = SHA-256( hash(n-1) || leaf(n) ),   hash(0) = 32 zero bytes

Integers are big-endian and signed (int8 = 8 bytes, int4 = 4 bytes); a NULL topic or
state is hashed as empty.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

    from eventstore.schema import StoreNames

GENESIS = bytes(32)
_pack_q = struct.Struct(">q").pack
_pack_i = struct.Struct(">i").pack
_sha256 = hashlib.sha256


def leaf_digest(
    position: int, originator_id: bytes, version: int, topic: bytes, state: bytes
) -> bytes:
    """The digest of one event's canonical bytes."""
    return _sha256(
        _pack_q(position)
        + originator_id
        + _pack_q(version)
        + _pack_i(len(topic))
        + topic
        + _pack_i(len(state))
        + state
    ).digest()


def link(previous: bytes, leaf: bytes) -> bytes:
    """The chain hash of an event whose leaf digest is ``leaf``."""
    return _sha256(previous + leaf).digest()


# A ``gl_chain`` row holds the hashes of one run of consecutive positions that were
# chained together (one append transaction, usually): ``hashes`` is their chain hashes,
# 32 bytes each, from ``first_position`` to ``position``. One row per append instead of
# one per event keeps the chain's cost within a few percent of the append itself.
# ``late`` marks positions chained after they were written (an upgraded store, or rows
# another writer inserted around the chain): attested from then on only.


def chain_ddl(names: StoreNames) -> list[str]:
    """Tables of the chain and checkpoints, the extend function and the append-only
    triggers (idempotent)."""
    ev = names.q(names.events)
    chain = names.q("gl_chain")
    checkpoints = names.q("gl_checkpoints")
    refuse = names.q("gl_refuse_change")
    statements = [
        f"CREATE TABLE IF NOT EXISTS {chain} (position bigint PRIMARY KEY, "
        "first_position bigint NOT NULL, hashes bytea NOT NULL, late boolean NOT NULL, "
        "chained_at timestamptz NOT NULL DEFAULT now())",
        f"CREATE TABLE IF NOT EXISTS {checkpoints} (position bigint PRIMARY KEY, "
        "hash bytea NOT NULL, signed_at timestamptz NOT NULL, key_id text NOT NULL, "
        "signature bytea NOT NULL)",
        f"INSERT INTO {names.q('gl_settings')} VALUES ('log_id', gen_random_uuid()::text) "
        "ON CONFLICT DO NOTHING",
        f"CREATE OR REPLACE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        "BEGIN RAISE EXCEPTION 'the record is append-only: % on % is refused', "
        "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $fn$",
        extend_ddl(names),
    ]
    for table in (ev, chain, checkpoints):
        base = table.rsplit(".", 1)[1].strip('"')
        statements += [
            f"CREATE OR REPLACE TRIGGER {_ident(base + '_append_only')} BEFORE UPDATE OR "
            f"DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {refuse}()",
            f"CREATE OR REPLACE TRIGGER {_ident(base + '_no_truncate')} BEFORE TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {refuse}()",
        ]
    return statements


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


LEAF_SQL = (
    "sha256(int8send(notification_id) || uuid_send(originator_id) "
    "|| int8send(originator_version) "
    "|| int4send(octet_length(convert_to(coalesce(topic, ''), 'UTF8'))) "
    "|| convert_to(coalesce(topic, ''), 'UTF8') "
    "|| int4send(coalesce(length(state), 0)) || coalesce(state, '\\x'::bytea))"
)


def extend_ddl(names: StoreNames) -> str:
    """``gl_chain_extend(base, upto)``: chain the events after the chain's head, up to
    ``upto`` (all when NULL).

    Called under the events table's EXCLUSIVE lock after an insert; ``base`` is the
    position the insert started after. Rows at or below ``base`` that are not chained
    yet (an upgraded store, or another writer's rows) are chained too, in rows of their
    own marked late. A gap in positions also starts a new row."""
    ev = names.q(names.events)
    chain = names.q("gl_chain")
    flush = (
        f"INSERT INTO {chain} (position, first_position, hashes, late) VALUES "
        "(first + i - 1, first, (SELECT string_agg(x, ''::bytea ORDER BY o) "
        "FROM unnest(hs[1:i]) WITH ORDINALITY AS u(x, o)), first <= base); "
    )
    return (
        f"CREATE OR REPLACE FUNCTION {names.q('gl_chain_extend')}"
        "(base bigint, upto bigint DEFAULT NULL) "
        "RETURNS void LANGUAGE plpgsql AS $fn$ "
        "DECLARE head bigint; prev bytea; r record; first bigint; hs bytea[] := '{}'; "
        "i int := 0; BEGIN "
        f"SELECT position, substring(hashes FROM octet_length(hashes) - 31) INTO head, prev "
        f"FROM {chain} ORDER BY position DESC LIMIT 1; "
        "IF head IS NULL THEN head := 0; prev := decode(repeat('00', 32), 'hex'); END IF; "
        f"FOR r IN SELECT notification_id AS n, {LEAF_SQL} AS leaf FROM {ev} "
        "WHERE notification_id > head AND (upto IS NULL OR notification_id <= upto) "
        "ORDER BY notification_id LOOP "
        "IF i > 0 AND (r.n <> first + i OR (r.n <= base) <> (first <= base)) THEN "
        + flush
        + "i := 0; END IF; "
        "IF i = 0 THEN first := r.n; END IF; "
        "prev := sha256(prev || r.leaf); i := i + 1; hs[i] := prev; "
        "END LOOP; "
        "IF i > 0 THEN " + flush + "END IF; "
        "END $fn$"
    )


UPGRADE_CHUNK = 10_000  # positions per chain row when an older store is chained


async def chain_upgrade(conn: asyncpg.Connection, names: StoreNames) -> None:
    """Inside the schema transaction: chain the events a store holds from before it had
    a chain (marked late: attested from now on, not from when they were written)."""
    ev, chain = names.q(names.events), names.q("gl_chain")
    head_sql = f"SELECT coalesce(max(position), 0) FROM {chain}"
    end = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {ev}")
    if end <= await conn.fetchval(head_sql):
        return
    await conn.execute(f"LOCK TABLE {ev} IN EXCLUSIVE MODE")
    end = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {ev}")
    head = await conn.fetchval(head_sql)
    while head < end:
        await conn.execute(
            f"SELECT {names.q('gl_chain_extend')}($1, $2)", end, head + UPGRADE_CHUNK
        )
        head = await conn.fetchval(head_sql)


async def chain_hashes(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames, lo: int, hi: int
) -> dict[int, bytes]:
    """The stored chain hash of every position in ``(lo, hi]`` that has one."""
    rows = await conn.fetch(
        f"SELECT first_position, hashes FROM {names.q('gl_chain')} "
        "WHERE position > $1 AND first_position <= $2",
        lo,
        hi,
    )
    found: dict[int, bytes] = {}
    for first, hashes in rows:
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
