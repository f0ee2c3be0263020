"""Projection positions in eventsourcing's tracking table (application_name = projection)."""

from __future__ import annotations

import asyncpg

from eventstore.schema import StoreNames


async def lock_position(conn: asyncpg.Connection, names: StoreNames, name: str) -> int:
    """Inside a transaction: lock this projection's tracking row and return its position.

    The row lock serialises the live projector and a rebuild's switch-over.
    """
    t = names.q(names.tracking)
    await conn.execute(
        f"INSERT INTO {t} (application_name, notification_id) VALUES ($1, 0) "
        "ON CONFLICT (application_name) DO NOTHING",
        name,
    )
    return await conn.fetchval(
        f"SELECT notification_id FROM {t} WHERE application_name = $1 FOR UPDATE", name
    )


async def set_position(conn: asyncpg.Connection, names: StoreNames, name: str, pos: int) -> None:
    t = names.q(names.tracking)
    await conn.execute(
        f"UPDATE {t} SET notification_id = $2 WHERE application_name = $1", name, pos
    )


async def read_position(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames, name: str
) -> int:
    """The projection's position (0 when it has not started)."""
    t = names.q(names.tracking)
    value = await conn.fetchval(
        f"SELECT notification_id FROM {t} WHERE application_name = $1", name
    )
    return value or 0


async def positions_past(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames, head: int
) -> list[tuple[str, int]]:
    """Read models whose recorded position is past the log's end ``head``: they would
    skip the events that take those positions (only a hand edit does this)."""
    t = names.q(names.tracking)
    rows = await conn.fetch(
        f"SELECT application_name, notification_id FROM {t} "
        "WHERE application_name <> '__migration__' AND notification_id > $1 "
        "ORDER BY application_name",
        head,
    )
    return [(r[0], r[1]) for r in rows]
