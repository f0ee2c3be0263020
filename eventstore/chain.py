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


def chain_ddl(names: StoreNames) -> list[str]:
    """Tables of the chain and checkpoints, the extend function and the append-only
    triggers (idempotent)."""
    ev = names.q(names.events)
    chain = names.q("gl_chain")
    late = names.q("gl_chain_late")
    checkpoints = names.q("gl_checkpoints")
    refuse = names.q("gl_refuse_change")
    statements = [
        f"CREATE TABLE IF NOT EXISTS {chain} (position bigint PRIMARY KEY, hash bytea NOT NULL)",
        # Ranges chained after they were written (an upgraded store, or rows another
        # writer inserted without the chain): attested from the moment they were chained.
        f"CREATE TABLE IF NOT EXISTS {late} (from_position bigint PRIMARY KEY, "
        "to_position bigint NOT NULL, chained_at timestamptz NOT NULL DEFAULT now())",
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
    for table in (ev, chain, late, checkpoints):
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


def extend_ddl(names: StoreNames) -> str:
    """``gl_chain_extend(base)``: chain every event after the chain's head.

    Called under the events table's EXCLUSIVE lock after an insert; ``base`` is the
    position the insert started after. Rows at or below ``base`` that are not chained
    yet (an upgraded store, or another writer's rows) are chained too and recorded as
    chained late."""
    ev = names.q(names.events)
    chain = names.q("gl_chain")
    late = names.q("gl_chain_late")
    return (
        f"CREATE OR REPLACE FUNCTION {names.q('gl_chain_extend')}(base bigint) "
        "RETURNS void LANGUAGE plpgsql AS $fn$ "
        "DECLARE head bigint; prev bytea; ns bigint[]; leaves bytea[]; i int; BEGIN "
        f"SELECT position, hash INTO head, prev FROM {chain} ORDER BY position DESC LIMIT 1; "
        "IF head IS NULL THEN head := 0; prev := decode(repeat('00', 32), 'hex'); "
        "END IF; "
        "SELECT array_agg(notification_id ORDER BY notification_id), "
        "array_agg(sha256(int8send(notification_id) || uuid_send(originator_id) "
        "|| int8send(originator_version) "
        "|| int4send(octet_length(convert_to(coalesce(topic, ''), 'UTF8'))) "
        "|| convert_to(coalesce(topic, ''), 'UTF8') "
        "|| int4send(coalesce(length(state), 0)) || coalesce(state, '\\x'::bytea)) "
        "ORDER BY notification_id) "
        f"INTO ns, leaves FROM {ev} WHERE notification_id > head; "
        "IF ns IS NULL THEN RETURN; END IF; "
        "FOR i IN 1..cardinality(ns) LOOP prev := sha256(prev || leaves[i]); "
        "leaves[i] := prev; END LOOP; "
        f"INSERT INTO {chain} (position, hash) SELECT * FROM unnest(ns, leaves); "
        "IF ns[1] <= base THEN "
        f"INSERT INTO {late} (from_position, to_position) "
        "VALUES (ns[1], least(base, ns[cardinality(ns)])); END IF; "
        "END $fn$"
    )


async def chain_upgrade(conn: asyncpg.Connection, names: StoreNames) -> None:
    """Inside the schema transaction: chain the events a store holds from before it had
    a chain (recorded as chained late: attested from now on, not from when written)."""
    ev = names.q(names.events)
    behind = await conn.fetchval(
        f"SELECT (SELECT max(notification_id) FROM {ev}) > "
        f"coalesce((SELECT max(position) FROM {names.q('gl_chain')}), 0)"
    )
    if behind:
        await conn.execute(f"LOCK TABLE {ev} IN EXCLUSIVE MODE")
        await conn.execute(
            f"SELECT {names.q('gl_chain_extend')}((SELECT max(notification_id) FROM {ev}))"
        )
