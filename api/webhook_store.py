"""Outbound webhooks' tables: subscriptions, their deliveries and each attempt.

Subscriptions are administration, not governance: they live in ``gl_webhooks`` (who
made and who deleted each, and when, recorded there) rather than in the log, since the
signing secret must never reach the log, its exports or its checkpoints. A deleted
subscription is kept (``deleted_at``) with its delivery log.

``position`` is how far a subscription has been read: every event up to it that the
subscription wants has a row in ``gl_webhook_deliveries``, written in the same
transaction that moves the position, so a restart neither skips nor queues an event
twice. A delivery is ``pending`` until a receiver answers 2xx (``delivered``); each try
is a row of ``gl_webhook_attempts``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.database import Store
from eventstore.schema import StoreNames

HOOKS, DELIVERIES, ATTEMPTS = "gl_webhooks", "gl_webhook_deliveries", "gl_webhook_attempts"
_LOCK = 7318262005  # creating the tables, once, across processes


def ddl(names: StoreNames) -> list[str]:
    hooks, deliveries, attempts = names.q(HOOKS), names.q(DELIVERIES), names.q(ATTEMPTS)
    return [
        f"CREATE TABLE IF NOT EXISTS {hooks} (id uuid PRIMARY KEY, seq bigserial, "
        "url text NOT NULL, event_types text[] NOT NULL, portfolio_id uuid, "
        "description text NOT NULL, secret text NOT NULL, created_by text NOT NULL, "
        "created_at timestamptz NOT NULL DEFAULT now(), deleted_by text, "
        "deleted_at timestamptz, position bigint NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {deliveries} (id uuid PRIMARY KEY, webhook_id uuid "
        f"NOT NULL REFERENCES {hooks}, position bigint NOT NULL, event_type text NOT NULL, "
        "body text NOT NULL, status text NOT NULL DEFAULT 'pending', attempts int NOT NULL "
        "DEFAULT 0, next_attempt_at timestamptz NOT NULL DEFAULT now(), created_at "
        "timestamptz NOT NULL DEFAULT now(), delivered_at timestamptz, "
        "UNIQUE (webhook_id, position))",
        f"CREATE INDEX IF NOT EXISTS gl_webhook_deliveries_pending ON {deliveries} "
        "(webhook_id, position) WHERE status = 'pending'",
        f"CREATE TABLE IF NOT EXISTS {attempts} (delivery_id uuid NOT NULL REFERENCES "
        f"{deliveries}, n int NOT NULL, at timestamptz NOT NULL, status_code int, "
        "error text, duration_ms int NOT NULL, PRIMARY KEY (delivery_id, n))",
    ]


async def prepare(store: Store) -> None:
    """Create the tables if missing (as the serving role, which then owns them)."""
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        for statement in ddl(store.names):
            await conn.execute(statement)


_HOOK_COLUMNS = (
    "id, seq, url, event_types, portfolio_id, description, created_by, created_at, position, "
    "(SELECT count(*) FROM {d} d WHERE d.webhook_id = h.id AND d.status = 'pending') "
    "AS pending"
)


def _hook_columns(names: StoreNames) -> str:
    return _HOOK_COLUMNS.format(d=names.q(DELIVERIES))


async def create(
    pool: asyncpg.Pool,
    names: StoreNames,
    *,
    url: str,
    event_types: Sequence[str],
    portfolio_id: UUID | None,
    description: str,
    secret: str,
    by: str,
    position: int,
) -> dict[str, Any]:
    """A new subscription, reading from ``position`` on."""
    row = await pool.fetchrow(
        f"INSERT INTO {names.q(HOOKS)} AS h (id, url, event_types, portfolio_id, description, "
        "secret, created_by, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        f"RETURNING {_hook_columns(names)}",
        uuid.uuid4(),
        url,
        list(event_types),
        portfolio_id,
        description,
        secret,
        by,
        position,
    )
    return dict(row)


async def find(pool: asyncpg.Pool, names: StoreNames, webhook_id: UUID) -> dict[str, Any] | None:
    """A subscription not deleted, or None."""
    row = await pool.fetchrow(
        f"SELECT {_hook_columns(names)} FROM {names.q(HOOKS)} h "
        "WHERE id = $1 AND deleted_at IS NULL",
        webhook_id,
    )
    return None if row is None else dict(row)


async def listed(
    pool: asyncpg.Pool, names: StoreNames, after: int, limit: int
) -> list[dict[str, Any]]:
    """Subscriptions not deleted, oldest first, after the one numbered ``after``."""
    rows = await pool.fetch(
        f"SELECT {_hook_columns(names)} FROM {names.q(HOOKS)} h WHERE deleted_at IS NULL "
        "AND seq > $1 ORDER BY seq LIMIT $2",
        after,
        limit,
    )
    return [dict(r) for r in rows]


async def delete(pool: asyncpg.Pool, names: StoreNames, webhook_id: UUID, by: str) -> bool:
    """Stop a subscription (kept, with who deleted it); False if there is none."""
    done = await pool.fetchval(
        f"UPDATE {names.q(HOOKS)} SET deleted_by = $2, deleted_at = now() "
        "WHERE id = $1 AND deleted_at IS NULL RETURNING true",
        webhook_id,
        by,
    )
    return bool(done)


async def active(pool: asyncpg.Pool, names: StoreNames) -> list[dict[str, Any]]:
    """What the dispatcher needs of every subscription not deleted."""
    rows = await pool.fetch(
        f"SELECT id, url, event_types, portfolio_id, secret FROM {names.q(HOOKS)} "
        "WHERE deleted_at IS NULL ORDER BY created_at"
    )
    return [dict(r) for r in rows]


async def any_active(pool: asyncpg.Pool, names: StoreNames) -> bool:
    """Whether any subscription is not deleted."""
    found = await pool.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {names.q(HOOKS)} WHERE deleted_at IS NULL)"
    )
    return bool(found)
