"""The hash chain in SQL: its tables, the append-only triggers and the chain step the
append functions inline (``eventstore.chain`` specifies the algorithm; docs/audit.md
gives it byte by byte)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventstore.schema import quote_ident

if TYPE_CHECKING:
    import asyncpg

    from eventstore.schema import StoreNames

# A ``gl_chain`` row holds the hashes of one run of consecutive positions that were
# chained together (one append transaction, usually): ``hashes`` is their chain hashes,
# 32 bytes each, from ``first_position`` to ``position``. One row per append instead of
# one per event keeps the chain's cost within a few percent of the append itself.
# ``late`` marks positions chained after they were written (an upgraded store, or rows
# another writer inserted around the chain): attested from then on only.


# Functions the owner runs (or that run as the owner) see only pg_catalog: a function a
# serving role creates in the store's schema can never stand in for a built-in.
SAFE_PATH = "SET search_path = pg_catalog, pg_temp"


def chain_ddl(names: StoreNames) -> list[str]:
    """Tables of the chain, the checkpoints and the log's id, the extend function and the
    append-only triggers (idempotent)."""
    ev = names.q(names.events)
    chain = names.q("gl_chain")
    checkpoints = names.q("gl_checkpoints")
    log = names.q("gl_log")
    refuse = names.q("gl_refuse_change")
    check = names.q("gl_check_checkpoint")
    ev_literal = ev.replace("'", "''")
    statements = [
        f"CREATE TABLE IF NOT EXISTS {chain} (position bigint PRIMARY KEY, "
        "first_position bigint NOT NULL, hashes bytea NOT NULL, late boolean NOT NULL, "
        "chained_at timestamptz NOT NULL DEFAULT now())",
        f"CREATE TABLE IF NOT EXISTS {checkpoints} (position bigint PRIMARY KEY, "
        "hash bytea NOT NULL, signed_at timestamptz NOT NULL, key_id text NOT NULL, "
        "signature bytea NOT NULL)",
        # The log's id, signed into every checkpoint: one row, never changed.
        f"CREATE TABLE IF NOT EXISTS {log} (log_id uuid PRIMARY KEY, "
        "created_at timestamptz NOT NULL DEFAULT now())",
        f"INSERT INTO {log} (log_id) SELECT gen_random_uuid() "
        f"WHERE NOT EXISTS (SELECT 1 FROM {log})",
        f"CREATE OR REPLACE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql {SAFE_PATH} "
        "AS $fn$ BEGIN RAISE EXCEPTION 'the record is append-only: % on % is refused', "
        "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $fn$",
        # A checkpoint must name the chain's hash at its position: no junk rows.
        f"CREATE OR REPLACE FUNCTION {check}() RETURNS trigger LANGUAGE plpgsql {SAFE_PATH} "
        "AS $fn$ BEGIN IF NEW.hash IS DISTINCT FROM (SELECT substring(hashes FROM "
        "((NEW.position - first_position) * 32 + 1)::int FOR 32) "
        f"FROM {chain} WHERE position >= NEW.position AND first_position <= NEW.position "
        "ORDER BY position LIMIT 1) THEN RAISE EXCEPTION "
        "'a checkpoint must name the chain''s hash at position %', NEW.position "
        "USING ERRCODE = 'check_violation'; END IF; "
        # and be signed now (a time no reader can hold would break every reader)
        "IF NEW.signed_at IS NULL OR NEW.signed_at NOT BETWEEN now() - interval '1 day' "
        "AND now() + interval '1 day' THEN RAISE EXCEPTION "
        "'a checkpoint must be signed now, not at %', NEW.signed_at "
        "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $fn$",
        f"CREATE OR REPLACE TRIGGER gl_checkpoint_matches_chain BEFORE INSERT ON "
        f"{checkpoints} FOR EACH ROW EXECUTE FUNCTION {check}()",
        # Positions start at 1: a row below would sit outside the chain.
        "DO $do$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE "
        f"conname = 'gl_position_positive' AND conrelid = '{ev_literal}'::regclass) "
        f"THEN ALTER TABLE {ev} ADD CONSTRAINT gl_position_positive "
        "CHECK (notification_id > 0) NOT VALID; END IF; END $do$",
        extend_ddl(names),
        f"REVOKE EXECUTE ON FUNCTION {names.q('gl_chain_extend')}(bigint, bigint) FROM PUBLIC",
    ]
    for table in (ev, chain, checkpoints, log):
        base = table.rsplit(".", 1)[1].strip('"')
        statements += [
            f"CREATE OR REPLACE TRIGGER {quote_ident(base + '_append_only')} BEFORE UPDATE "
            f"OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {refuse}()",
            f"CREATE OR REPLACE TRIGGER {quote_ident(base + '_no_truncate')} BEFORE TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {refuse}()",
        ]
    return statements


# Over a row of the events table joined with ``t`` (the topic's UTF-8 bytes, made once).
LEAF_SQL = (
    "sha256(uuid_send(originator_id) "
    "|| int8send(originator_version) || int4send(octet_length(t)) || t "
    "|| int4send(coalesce(length(state), 0)) || coalesce(state, '\\x'::bytea))"
)
TOPIC_BYTES = "CROSS JOIN LATERAL (SELECT convert_to(coalesce(topic, ''), 'UTF8') AS t) AS c_t"


EXTEND_DECLARE = (
    "c_head bigint; c_end bigint; c_prev bytea; c_ns bigint[]; c_leaves bytea[]; c_n int; "
    "c_i int; c_j int; c_out bytea; c_first bigint; "
)


def _events_after(ev: str, first: str) -> str:
    """Positions ``first``..``c_end`` with their leaves, in the index's order (so that
    ``array_agg`` needs no sort)."""
    return (
        f"(SELECT notification_id AS n, {LEAF_SQL} AS leaf FROM {ev} {TOPIC_BYTES} "
        f"WHERE notification_id BETWEEN {first} AND c_end ORDER BY notification_id) AS c_r"
    )


def extend_body(names: StoreNames, base: str, upto: str, given: str = "NULL::bytea[]") -> str:
    """PL/pgSQL statements that chain the events after the chain's head, up to ``upto``
    (all when it is NULL), with the variables of ``EXTEND_DECLARE``. The insert functions
    inline them (a function call per append costs as much again).

    Runs under the events table's EXCLUSIVE lock; ``base`` is the position the insert
    started after, ``given`` the leaves its writer computed for positions ``base`` + 1 to
    ``upto`` (or NULL). When the chain's head is at ``base``, as usual, those leaves are
    linked and nothing is read back. Otherwise (rows written around the chain, an older
    store) the leaves are computed from the rows after the head; rows at or below
    ``base`` get chain rows of their own marked late, and a gap in positions also starts
    a new row."""
    ev = names.q(names.events)
    chain = names.q("gl_chain")
    link_sql = "c_prev := sha256(c_prev || int8send({pos}) || c_leaves[c_k]); "
    return (
        f"c_end := {upto}; "
        f"IF c_end IS NULL THEN SELECT max(notification_id) INTO c_end FROM {ev}; END IF; "
        f"SELECT position, substring(hashes FROM octet_length(hashes) - 31) "
        f"INTO c_head, c_prev FROM {chain} ORDER BY position DESC LIMIT 1; "
        "IF c_head IS NULL THEN c_head := 0; c_prev := decode(repeat('00', 32), 'hex'); "
        "END IF; "
        f"IF c_head = {base} AND {given} IS NOT NULL "
        f"AND cardinality({given}) = c_end - {base} THEN "
        f"c_leaves := {given}; c_ns := NULL; c_first := {base} + 1; "
        "ELSE "
        # A closed range: its generic plan is an index scan, where for "> head" alone the
        # planner may pick a scan of the whole table.
        "SELECT array_agg(c_r.n), array_agg(c_r.leaf) INTO c_ns, c_leaves FROM "
        + _events_after(ev, "c_head + 1")
        + "; c_first := c_ns[1]; END IF; "
        "c_n := coalesce(cardinality(c_leaves), 0); "
        # The usual append: one run of fresh positions, one chain row.
        "IF c_n > 0 AND (c_ns IS NULL OR "
        f"(c_ns[c_n] - c_ns[1] = c_n - 1 AND c_ns[1] > {base})) THEN "
        # up to 256 hashes are concatenated as they are made (quadratic copying)
        "IF c_n <= 256 THEN c_out := ''::bytea; FOR c_k IN 1..c_n LOOP "
        + link_sql.format(pos="c_first + c_k - 1")
        + "c_out := c_out || c_prev; END LOOP; "
        "ELSE FOR c_k IN 1..c_n LOOP "
        + link_sql.format(pos="c_first + c_k - 1")
        + "c_leaves[c_k] := c_prev; END LOOP; "
        "SELECT string_agg(c_leaves[c_x], ''::bytea ORDER BY c_x) INTO c_out "
        "FROM generate_series(1, c_n) AS c_x; END IF; "
        # a NULL leaf would make every later hash NULL: refuse the append
        "IF c_prev IS NULL THEN RAISE EXCEPTION 'every leaf must be a 32-byte digest' "
        "USING ERRCODE = 'invalid_parameter_value'; END IF; "
        f"INSERT INTO {chain} (position, first_position, hashes, late) "
        "VALUES (c_first + c_n - 1, c_first, c_out, false); "
        "ELSIF c_n > 0 THEN "
        # Otherwise leaves become chain hashes in place, then one chain row per run of
        # consecutive positions on one side of ``base``.
        "FOR c_k IN 1..c_n LOOP "
        + link_sql.format(pos="c_ns[c_k]")
        + "c_leaves[c_k] := c_prev; END LOOP; "
        "c_i := 1; WHILE c_i <= c_n LOOP c_j := c_i + 1; "
        f"IF c_ns[c_n] - c_ns[c_i] = c_n - c_i AND (c_ns[c_i] > {base} OR c_ns[c_n] <= {base}) "
        "THEN c_j := c_n + 1; ELSE WHILE c_j <= c_n AND c_ns[c_j] = c_ns[c_j - 1] + 1 "
        f"AND (c_ns[c_j] <= {base}) = (c_ns[c_i] <= {base}) LOOP c_j := c_j + 1; END LOOP; "
        "END IF; "
        f"INSERT INTO {chain} (position, first_position, hashes, late) "
        "SELECT c_ns[c_j - 1], c_ns[c_i], "
        "string_agg(c_leaves[c_x], ''::bytea ORDER BY c_x), "
        f"c_ns[c_i] <= {base} FROM generate_series(c_i, c_j - 1) AS c_x; "
        "c_i := c_j; END LOOP; END IF; "
    )


def extend_ddl(names: StoreNames) -> str:
    """``gl_chain_extend(base, upto)``: ``extend_body`` as a function, for chaining an
    older store (and by hand: tests use it to play an attacker who rewrites the chain)."""
    return (
        f"CREATE OR REPLACE FUNCTION {names.q('gl_chain_extend')}"
        "(base bigint, upto bigint DEFAULT NULL) "
        f"RETURNS void LANGUAGE plpgsql {SAFE_PATH} AS $fn$ DECLARE {EXTEND_DECLARE}BEGIN "
        + extend_body(names, "base", "upto")
        + "END $fn$"
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
