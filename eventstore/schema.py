"""Schema creation: the tables ``eventsourcing.postgres`` lays out, plus Gateledger's own.

The events, snapshots and tracking tables match, statement for statement, what
``PostgresApplicationRecorder``, ``PostgresAggregateRecorder`` (snapshots) and
``PostgresTrackingRecorder`` create with ``originator_id_type="uuid"``, so the library's
own recorders read and write the same store. Everything is created idempotently.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import asyncpg

_AUTOVACUUM = (
    "WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, "
    "autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000, "
    "autovacuum_analyze_scale_factor = 0.01)"
)


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (schema or table name)."""
    if not name or len(name) > 63:
        raise ValueError(f"invalid identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class StoreNames:
    """Schema and table names of one store."""

    schema: str = "public"
    events: str = "stored_events"
    snapshots: str = "snapshots"
    tracking: str = "notification_tracking"

    def q(self, table: str) -> str:
        """The schema-qualified, quoted name of ``table``."""
        return f"{quote_ident(self.schema)}.{quote_ident(table)}"

    @property
    def channel(self) -> str:
        """The NOTIFY channel: eventsourcing uses the events table's name."""
        return self.events.replace(".", "_")


def ddl(names: StoreNames) -> list[str]:
    """The statements that create the store, in order."""
    s = quote_ident(names.schema)
    ev = names.q(names.events)
    snap = names.q(names.snapshots)
    trk = names.q(names.tracking)
    idx = quote_ident(f"{names.events}_notification_id_idx")
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE IF NOT EXISTS {ev} (originator_id uuid NOT NULL, "
        "originator_version bigint NOT NULL, topic text, state bytea, "
        "notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) "
        + _AUTOVACUUM,
        f"CREATE UNIQUE INDEX IF NOT EXISTS {idx} ON {ev} (notification_id ASC)",
        f"CREATE TABLE IF NOT EXISTS {snap} (originator_id uuid NOT NULL, "
        "originator_version bigint NOT NULL, topic text, state bytea, "
        "PRIMARY KEY (originator_id, originator_version)) " + _AUTOVACUUM,
        f"CREATE TABLE IF NOT EXISTS {trk} (application_name text, notification_id bigint, "
        "PRIMARY KEY (application_name))" + _AUTOVACUUM,
        # eventsourcing marks a single-row tracking table with this row; without it the
        # library would try to migrate the table from the legacy multi-row layout.
        f"INSERT INTO {trk} VALUES ('__migration__', 1) ON CONFLICT DO NOTHING",
        f"CREATE TABLE IF NOT EXISTS {names.q('gl_idempotency')} ("
        "principal text NOT NULL, key text NOT NULL, request_hash text NOT NULL, "
        "response bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (principal, key))",
        # where the command's events landed (the answer's position), written by the
        # group commit with them; NULL in older records, whose answer holds it
        f"ALTER TABLE {names.q('gl_idempotency')} ADD COLUMN IF NOT EXISTS position bigint",
        f"CREATE TABLE IF NOT EXISTS {names.q('gl_settings')} ("
        "key text PRIMARY KEY, value text NOT NULL)",
    ]


def composite_type_ddl(names: StoreNames) -> str:
    """eventsourcing's ``stored_event_uuid`` composite type (no IF NOT EXISTS in SQL)."""
    return (
        f"CREATE TYPE {names.q('stored_event_uuid')} AS (originator_id uuid, "
        "originator_version bigint, topic text, state bytea)"
    )


# A global advisory-lock key so that two processes creating the same schema at once
# do not race on CREATE TYPE / CREATE TABLE.
_SCHEMA_LOCK = 7_318_262_001


def store_ddl(names: StoreNames) -> list[str]:
    """Every statement ``create_schema`` runs, in order (the composite type aside)."""
    from eventstore.chain_sql import chain_ddl
    from eventstore.functions import append_functions_ddl

    return [*ddl(names), *append_functions_ddl(names), *chain_ddl(names)]


def schema_fingerprint(names: StoreNames) -> str:
    """A digest of what ``create_schema`` makes: a store whose recorded fingerprint is
    this one needs no DDL (so a serving role, which may not run DDL, can open it), and
    any change to the statements makes the owner's next start apply them."""
    text = "\n".join([*store_ddl(names), composite_type_ddl(names)])
    return hashlib.sha256(text.encode()).hexdigest()


async def create_schema(conn: asyncpg.Connection, names: StoreNames) -> None:
    """Create the store's schema, tables, type, functions and triggers if they do not
    exist (or bring them up to date), and chain events from before the chain."""
    from eventstore.chain_sql import chain_upgrade

    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
        for statement in store_ddl(names):
            await conn.execute(statement)
        await chain_upgrade(conn, names)
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE t.typname = 'stored_event_uuid' AND n.nspname = $1",
            names.schema,
        )
        if not exists:
            await conn.execute(composite_type_ddl(names))


async def ensure_schema(conn: asyncpg.Connection, names: StoreNames) -> None:
    """``create_schema`` unless the store records the current ``schema_fingerprint``."""
    settings = names.q("gl_settings")
    fingerprint = schema_fingerprint(names)
    if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", settings):
        current = await conn.fetchval(f"SELECT value FROM {settings} WHERE key = 'store:schema'")
        if current == fingerprint:
            return
    await create_schema(conn, names)
    await conn.execute(
        f"INSERT INTO {settings} VALUES ('store:schema', $1) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        fingerprint,
    )


async def drop_schema(conn: asyncpg.Connection, schema: str) -> None:
    """Drop a whole schema (tests and throwaway stores only). A server still running on
    it (its projector, dispatcher or feed) may take locks in another order and make the
    drop the victim of a deadlock: tried again, a few times."""
    for attempt in range(5):
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
            return
        except asyncpg.DeadlockDetectedError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
