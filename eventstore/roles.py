"""A restricted role for serving: it reads the record and appends to it only through the
append functions; it cannot change, delete, truncate or un-protect it.

The store's owner (the role that created the schema) keeps the record's tables, the
append functions and the triggers. ``grant_serving_role`` gives the serving role:

- the record (``stored_events``, ``gl_chain``): SELECT only; appends go through
  ``gl_insert_events`` / ``gl_insert_event_groups``, which run as the owner (SECURITY
  DEFINER) and extend the chain; ``gl_checkpoints``: SELECT and INSERT;
- snapshots and idempotency records: SELECT and INSERT; positions and settings
  (tracking, ``gl_settings``): SELECT, INSERT and UPDATE;
- the schema: USAGE and CREATE, and ownership of the read models (``rm_*`` and every
  other table that is not the owner's), which it creates, rebuilds and drops.

Only a table's owner can switch its triggers off, and only a superuser can set
``session_replication_role``: the serving role can do neither. docs/operations.md shows
how to set this up on a managed PostgreSQL.
"""

from __future__ import annotations

import asyncpg

from eventstore.functions import APPEND_FUNCTIONS, function_ref
from eventstore.schema import StoreNames, quote_ident


def owned_tables(names: StoreNames) -> tuple[str, ...]:
    """Tables that stay the owner's: the record and the store's own bookkeeping."""
    return (
        names.events,
        "gl_chain",
        "gl_checkpoints",
        names.snapshots,
        names.tracking,
        "gl_idempotency",
        "gl_settings",
        "gl_log",
    )


def _grants(names: StoreNames, role: str) -> list[str]:
    r = quote_ident(role)
    q = names.q
    record = ", ".join(q(t) for t in (names.events, "gl_chain", "gl_checkpoints"))
    statements = [
        f"GRANT USAGE, CREATE ON SCHEMA {quote_ident(names.schema)} TO {r}",
        f"REVOKE ALL ON {record}, {q('gl_log')}, {q(names.snapshots)}, {q(names.tracking)}, "
        f"{q('gl_idempotency')}, {q('gl_settings')} FROM {r}",
        f"GRANT SELECT ON {q(names.events)}, {q('gl_chain')}, {q('gl_log')} TO {r}",
        f"GRANT SELECT, INSERT ON {q('gl_checkpoints')}, {q(names.snapshots)}, "
        f"{q('gl_idempotency')} TO {r}",
        f"GRANT SELECT, INSERT, UPDATE ON {q(names.tracking)}, {q('gl_settings')} TO {r}",
    ]
    statements += [
        f"GRANT EXECUTE ON FUNCTION {function_ref(names, f)} TO {r}" for f in APPEND_FUNCTIONS
    ]
    return statements


# Roles whose members can reach past the database: run programs or touch the server's
# files as its operating-system user.
_POWERFUL = ("pg_execute_server_program", "pg_write_server_files", "pg_read_server_files")


async def _too_powerful(conn: asyncpg.Connection, role: str) -> str | None:
    """Why ``role`` may not serve (None: it may): it must hold no role attribute or
    membership that reaches the record's owner or past the database."""
    attrs = await conn.fetchrow(
        "SELECT rolsuper, rolcreaterole, rolreplication, rolbypassrls "
        "FROM pg_catalog.pg_roles WHERE rolname = $1",
        role,
    )
    for name, held in zip(
        ("a superuser", "may create roles", "may replicate", "bypasses row security"),
        attrs,
        strict=True,
    ):
        if held:
            return f"is {name}" if name == "a superuser" else name
    if role == await conn.fetchval("SELECT current_user"):
        return "is the owner itself"
    if await conn.fetchval("SELECT pg_catalog.pg_has_role($1, current_user, 'MEMBER')", role):
        return "is a member of the owner"
    for powerful in _POWERFUL:
        if await conn.fetchval("SELECT pg_catalog.pg_has_role($1, $2, 'MEMBER')", role, powerful):
            return f"is a member of {powerful}"
    return None


class ServingRoleError(ValueError):
    """The serving role named cannot serve this store (a superuser, a reserved name, or
    another role than the one that serves it)."""


async def grant_serving_role(conn: asyncpg.Connection, names: StoreNames, role: str) -> None:
    """As the store's owner: create ``role`` (NOLOGIN) if it does not exist and give it
    what serving needs and no more (see the module's docstring). Idempotent."""
    r = quote_ident(role)
    if role.startswith("pg_"):
        raise ServingRoleError(f"the serving role {role!r} is a name PostgreSQL reserves")
    async with conn.transaction():
        # one grant at a time: concurrent GRANTs on one object fail ("tuple concurrently
        # updated")
        await conn.execute("SELECT pg_advisory_xact_lock(7318262003)")
        recorded = await conn.fetchval(
            f"SELECT value FROM {names.q('gl_settings')} WHERE key = 'serving_role'"
        )
        if recorded not in (None, role):
            raise ServingRoleError(
                f"this store is served by the role {recorded!r}, not {role!r}: a server "
                f"running as {recorded!r} would lose its read models. To switch, stop "
                f"every server, then as the owner: DELETE FROM gl_settings WHERE key = "
                "'serving_role'"
            )
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            # LOGIN, so that a server on a trusting PostgreSQL (the embedded one) can
            # connect as it rather than switch to it (a switch can be reset)
            await conn.execute(f"CREATE ROLE {r} LOGIN")
        if why := await _too_powerful(conn, role):
            raise ServingRoleError(f"the serving role {role!r} {why}: it could undo every guard")
        if not await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", role):
            # to hand it the read models (ALTER ... OWNER needs membership)
            await conn.execute(f"GRANT {r} TO CURRENT_USER")
        for statement in _grants(names, role):
            await conn.execute(statement)
        # Gateledger's read models (rm_*, gl_* but the owner's): another application's
        # tables in the same schema are left alone.
        tables = await conn.fetch(
            "SELECT c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') "
            "AND (c.relname LIKE 'rm\\_%' OR c.relname LIKE 'gl\\_%') "
            "AND pg_catalog.pg_get_userbyid(c.relowner) <> $2 AND NOT c.relname = ANY($3)",
            names.schema,
            role,
            list(owned_tables(names)),
        )
        for (table,) in tables:
            await conn.execute(f"ALTER TABLE {names.q(table)} OWNER TO {r}")
        await conn.execute(
            f"INSERT INTO {names.q('gl_settings')} VALUES ('serving_role', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            role,
        )
