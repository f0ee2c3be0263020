"""Deliveries of webhook subscriptions: the log the PMO reads, redelivery, and what the
dispatcher asks of it (``api.webhooks``): the oldest pending delivery, and each
attempt recorded with when the next one is due."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from api.settings import Settings
from api.webhook_store import ATTEMPTS, DELIVERIES, HOOKS
from eventstore.database import Store
from eventstore.schema import StoreNames

ATTEMPTS_SHOWN = 20  # the latest attempts a delivery lists


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones."""
    wait = settings.webhook_retry_first_s * 2 ** min(attempts - 1, 40)
    return min(settings.webhook_retry_max_s, wait) * random.uniform(1.0, 1.1)


_DELIVERY = (
    "id, webhook_id, position, event_type, status, attempts, created_at, delivered_at, "
    "CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at"
)


async def deliveries(
    pool: asyncpg.Pool, names: StoreNames, webhook_id: UUID, after: int, limit: int
) -> list[dict[str, Any]]:
    """A subscription's deliveries in log order, each with its latest attempts."""
    rows = await pool.fetch(
        f"SELECT {_DELIVERY} FROM {names.q(DELIVERIES)} WHERE webhook_id = $1 "
        "AND position > $2 ORDER BY position LIMIT $3",
        webhook_id,
        after,
        limit,
    )
    items = [dict(r) for r in rows]
    tries = await pool.fetch(
        f"SELECT delivery_id, n, at, status_code AS http_status, error, duration_ms FROM "
        f"{names.q(ATTEMPTS)} WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, n",
        [i["id"] for i in items],
    )
    by_delivery: dict[UUID, list[dict[str, Any]]] = {}
    for t in tries:
        by_delivery.setdefault(t["delivery_id"], []).append(
            {k: t[k] for k in ("n", "at", "http_status", "error", "duration_ms")}
        )
    for item in items:
        item["log"] = by_delivery.get(item["id"], [])[-ATTEMPTS_SHOWN:]
    return items


async def redeliver(
    pool: asyncpg.Pool, names: StoreNames, webhook_id: UUID, delivery_id: UUID
) -> bool:
    """Send a delivery again as soon as the dispatcher can; False if there is none."""
    done = await pool.fetchval(
        f"UPDATE {names.q(DELIVERIES)} SET status = 'pending', next_attempt_at = now(), "
        "delivered_at = NULL WHERE id = $1 AND webhook_id = $2 RETURNING true",
        delivery_id,
        webhook_id,
    )
    return bool(done)


async def delivery(
    pool: asyncpg.Pool, names: StoreNames, webhook_id: UUID, delivery_id: UUID
) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"SELECT position FROM {names.q(DELIVERIES)} WHERE id = $1 AND webhook_id = $2",
        delivery_id,
        webhook_id,
    )
    if row is None:
        return None
    found = await deliveries(pool, names, webhook_id, row["position"] - 1, 1)
    return found[0] if found else None


async def oldest_pending(store: Store, webhook_id: UUID) -> dict[str, Any] | None:
    """The subscription's pending delivery first in log order (none once deleted)."""
    names = store.names
    row = await store.pool.fetchrow(
        f"SELECT d.id, d.position, d.body, d.attempts, d.next_attempt_at FROM "
        f"{names.q(DELIVERIES)} d JOIN {names.q(HOOKS)} h ON h.id = d.webhook_id "
        "WHERE d.webhook_id = $1 AND d.status = 'pending' AND h.deleted_at IS NULL "
        "ORDER BY d.position LIMIT 1",
        webhook_id,
    )
    return None if row is None else dict(row)


async def record_attempt(
    store: Store,
    settings: Settings,
    delivery: dict[str, Any],
    at: datetime,
    status: int | None,
    error: str | None,
    took_ms: int,
) -> None:
    names = store.names
    async with store.pool.acquire() as conn, conn.transaction():
        n = await conn.fetchval(
            f"UPDATE {names.q(DELIVERIES)} SET attempts = attempts + 1 WHERE id = $1 "
            "RETURNING attempts",
            delivery["id"],
        )
        await conn.execute(
            f"INSERT INTO {names.q(ATTEMPTS)} VALUES ($1, $2, $3, $4, $5, $6)",
            delivery["id"],
            n,
            at,
            status,
            error,
            took_ms,
        )
        if error is None:
            await conn.execute(
                f"UPDATE {names.q(DELIVERIES)} SET status = 'delivered', delivered_at = $2 "
                "WHERE id = $1",
                delivery["id"],
                datetime.now(UTC),
            )
        else:
            failed = await conn.fetchval(
                f"SELECT count(*) FROM {names.q(ATTEMPTS)} a WHERE a.delivery_id = $1 AND "
                "a.error IS NOT NULL AND a.n > coalesce((SELECT max(b.n) FROM "
                f"{names.q(ATTEMPTS)} b WHERE b.delivery_id = $1 AND b.error IS NULL), 0)",
                delivery["id"],
            )
            due = datetime.now(UTC) + timedelta(seconds=backoff(settings, int(failed)))
            await conn.execute(
                f"UPDATE {names.q(DELIVERIES)} SET next_attempt_at = $2 WHERE id = $1",
                delivery["id"],
                due,
            )
