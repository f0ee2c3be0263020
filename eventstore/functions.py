"""The store's SQL functions: each append is one round trip, with gapless ids.

Both functions take the EXCLUSIVE table lock eventsourcing takes, so transactions get
their ids in commit order, and number the new rows ``max(notification_id) + 1, ...``
under that lock, so an insert that fails leaves no hole (a sequence would). The table's
own sequence is moved past the new ids, so eventsourcing's recorder, which uses it,
keeps working on the same table. Before they commit, they extend the hash chain over the
new rows (``gl_chain_extend``, see ``eventstore.chain``), still under the lock.
"""

from __future__ import annotations

from eventstore.chain_sql import EXTEND_DECLARE, extend_body
from eventstore.schema import StoreNames


def _parts(names: StoreNames) -> tuple[str, str, str]:
    ev = names.q(names.events)
    literal = ev.replace("'", "''")
    channel = names.channel.replace("'", "''")
    return ev, literal, channel


# They run as the store's owner, so that a restricted serving role (eventstore.roles)
# can append only through them; a fixed search_path, as SECURITY DEFINER functions need.
_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp "


def insert_events_ddl(names: StoreNames, *, chain: bool = True) -> str:
    """``gl_insert_events``: one transaction's events, all or nothing, chained (with the
    leaves the writer computed, or from the rows when ``leaves`` is NULL)."""
    ev, literal, channel = _parts(names)
    extend = extend_body(names, "base", "base + cardinality(ids)", "leaves") if chain else ""
    return (
        f"CREATE OR REPLACE FUNCTION {names.q('gl_insert_events')}"
        "(ids uuid[], versions bigint[], topics text[], states bytea[], "
        "leaves bytea[] DEFAULT NULL) "
        "RETURNS SETOF bigint LANGUAGE plpgsql "
        + _DEFINER
        + "AS $fn$ DECLARE base bigint; "
        + EXTEND_DECLARE
        + "BEGIN "
        f"LOCK TABLE {ev} IN EXCLUSIVE MODE; "
        f"SELECT coalesce(max(notification_id), 0) INTO base FROM {ev}; "
        f"RETURN QUERY INSERT INTO {ev} "
        "(notification_id, originator_id, originator_version, topic, state) "
        "SELECT base + u.o, u.i, u.v, u.t, u.s "
        "FROM unnest(ids, versions, topics, states) WITH ORDINALITY AS u(i, v, t, s, o) "
        "RETURNING notification_id; "
        + extend
        + f"PERFORM setval(pg_get_serial_sequence('{literal}', 'notification_id'), "
        "base + cardinality(ids)); "
        f"PERFORM pg_notify('{channel}', ''); "
        "END $fn$"
    )


def insert_event_groups_ddl(names: StoreNames, *, chain: bool = True) -> str:
    """``gl_insert_event_groups``: group commit of many writers' appends.

    Each group (one writer's events, and the idempotency record of the command that made
    them, if any: ``idem_*`` arrays, one entry per group that has one) is inserted in a
    subtransaction: a group whose events conflict with stored ones returns
    ``(group, NULL, 'version')``, one whose Idempotency-Key is already stored
    ``(group, NULL, 'idempotency')``, and writes nothing; the others commit together.
    An idempotency record's ``position`` is the last position of its group's events.
    The leaves of the groups that went in are linked in position order.
    """
    ev, literal, channel = _parts(names)
    idem = names.q("gl_idempotency")
    extend = extend_body(names, "start", "base", "c_given") if chain else ""
    return (
        f"CREATE OR REPLACE FUNCTION {names.q('gl_insert_event_groups')}"
        "(grp int[], ids uuid[], versions bigint[], topics text[], states bytea[], "
        "leaves bytea[] DEFAULT NULL, idem_grp int[] DEFAULT NULL, "
        "idem_principals text[] DEFAULT NULL, idem_keys text[] DEFAULT NULL, "
        "idem_hashes text[] DEFAULT NULL, idem_responses bytea[] DEFAULT NULL) "
        "RETURNS TABLE(g int, nid bigint, failure text) LANGUAGE plpgsql " + _DEFINER + "AS $fn$ "
        "DECLARE base bigint; start bigint; k int; n bigint; last int; c_nids bigint[]; "
        "c_table text; c_failed int[] := '{}'; c_given bytea[]; " + EXTEND_DECLARE + "BEGIN "
        f"LOCK TABLE {ev} IN EXCLUSIVE MODE; "
        f"SELECT coalesce(max(notification_id), 0) INTO base FROM {ev}; "
        "start := base; "
        "SELECT coalesce(max(x), -1) INTO last FROM unnest(grp) x; "
        "FOR k IN 0..last LOOP BEGIN "
        # the group's rows are collected first: rows returned before a failure later in
        # the block (its idempotency record) would stay in the result
        "WITH c_ins AS ("
        f"INSERT INTO {ev} "
        "(notification_id, originator_id, originator_version, topic, state) "
        "SELECT base + row_number() OVER (ORDER BY u.o), u.i, u.v, u.t, u.s "
        "FROM unnest(grp, ids, versions, topics, states) WITH ORDINALITY "
        "AS u(gr, i, v, t, s, o) WHERE u.gr = k ORDER BY u.o "
        "RETURNING notification_id) "
        "SELECT array_agg(c_ins.notification_id ORDER BY c_ins.notification_id) "
        "INTO c_nids FROM c_ins; "
        "n := coalesce(cardinality(c_nids), 0); "
        "IF idem_grp IS NOT NULL THEN "
        f"INSERT INTO {idem} (principal, key, request_hash, response, position) "
        "SELECT u.p, u.ky, u.h, u.r, CASE WHEN n > 0 THEN base + n END "
        "FROM unnest(idem_grp, idem_principals, idem_keys, idem_hashes, idem_responses) "
        "AS u(gr, p, ky, h, r) WHERE u.gr = k; "
        "END IF; "
        "base := base + n; "
        "RETURN QUERY SELECT k, x, NULL::text FROM unnest(c_nids) AS x; "
        "EXCEPTION WHEN unique_violation THEN "
        "GET STACKED DIAGNOSTICS c_table = TABLE_NAME; "
        "g := k; nid := NULL; "
        "failure := CASE WHEN c_table = 'gl_idempotency' THEN 'idempotency' ELSE 'version' END; "
        "RETURN NEXT; c_failed := c_failed || k; "
        "END; END LOOP; "
        # the leaves of the groups that went in, in position order (groups are numbered
        # in the order of the arrays, so with none failed that is ``leaves`` itself)
        "IF cardinality(c_failed) = 0 THEN c_given := leaves; "
        "ELSIF leaves IS NOT NULL THEN SELECT array_agg(u.l ORDER BY u.gr, u.o) INTO c_given "
        "FROM unnest(grp, leaves) WITH ORDINALITY AS u(gr, l, o) "
        "WHERE NOT u.gr = ANY(c_failed); END IF; "
        + extend
        + f"PERFORM setval(pg_get_serial_sequence('{literal}', 'notification_id'), "
        "greatest(base, 1)); "
        f"PERFORM pg_notify('{channel}', ''); "
        "END $fn$"
    )


# Their signatures, for grants: only the owner and a serving role may append.
APPEND_FUNCTIONS = (
    "gl_insert_events(uuid[], bigint[], text[], bytea[], bytea[])",
    "gl_insert_event_groups(int[], uuid[], bigint[], text[], bytea[], bytea[], int[], text[], "
    "text[], text[], bytea[])",
)
# Before the writer passed its leaves, and before groups carried idempotency records
# (dropped: a call would match both).
_RETIRED = (
    "gl_insert_events(uuid[], bigint[], text[], bytea[])",
    "gl_insert_event_groups(int[], uuid[], bigint[], text[], bytea[])",
    "gl_insert_event_groups(int[], uuid[], bigint[], text[], bytea[], bytea[])",
)


def function_ref(names: StoreNames, signature: str) -> str:
    """``"schema"."name"(arg types)`` for a signature of ``APPEND_FUNCTIONS``."""
    name, args = signature.split("(", 1)
    return f"{names.q(name)}({args}"


def append_functions_ddl(names: StoreNames) -> list[str]:
    """The append functions, callable by no one but their owner until a serving role is
    granted them (PostgreSQL lets everyone execute a new function)."""
    return [
        *(f"DROP FUNCTION IF EXISTS {function_ref(names, f)}" for f in _RETIRED),
        insert_events_ddl(names),
        insert_event_groups_ddl(names),
        *(
            f"REVOKE EXECUTE ON FUNCTION {function_ref(names, f)} FROM PUBLIC"
            for f in APPEND_FUNCTIONS
        ),
    ]
