"""Events a projection could not apply, set aside so that it moves on (``gl_set_aside``).

An event whose handler keeps failing would otherwise stop its read model for good: the
batch rolls back and is retried forever. The projector instead applies that batch event
by event, each in a SAVEPOINT, records the ones that fail here (one row per projection
and position) and records the batch's position as applied. ``/health`` reports every
unresolved row; ``retry`` re-applies them after a fix (on the read model's current rows:
out of the log's order), and a rebuild, which applies every event in order, replaces a
projection's rows with those it could not apply itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from eventstore.database import Store
from eventstore.errors import UNREACHABLE
from eventstore.recorder import select_event_rows_on
from eventstore.schema import StoreNames
from projections.engine.events import Change, change_of
from projections.engine.read_model import Projection
from projections.engine.tracking import lock_position, set_position

log = logging.getLogger(__name__)

TABLE = "gl_set_aside"
COLUMNS = (
    "projection, position, originator_id, originator_version, topic, error, "
    "first_failed_at, last_failed_at, attempts, resolved_at"
)
# (notification_id, originator_id, originator_version, topic, state): an events-table row
Failure = tuple[asyncpg.Record, BaseException]


@dataclass(frozen=True)
class SetAside:
    projection: str
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    error: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int
    resolved_at: datetime | None


def ddl(names: StoreNames) -> list[str]:
    t = names.q(TABLE)
    return [
        f"CREATE TABLE IF NOT EXISTS {t} (projection text NOT NULL, position bigint NOT NULL, "
        "originator_id uuid NOT NULL, originator_version int NOT NULL, topic text NOT NULL, "
        "error text NOT NULL, first_failed_at timestamptz NOT NULL DEFAULT now(), "
        "last_failed_at timestamptz NOT NULL DEFAULT now(), attempts int NOT NULL DEFAULT 1, "
        "resolved_at timestamptz, PRIMARY KEY (projection, position))",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_open ON {t} (originator_id) "
        "WHERE resolved_at IS NULL",
    ]


# SQLSTATE classes no event causes (a missing table or column, a privilege, resources,
# a deadlock, a server in trouble): never set aside, they fail the batch and are retried.
SYSTEMIC = ("40", "42", "53", "55", "57", "58", "XX")


def systemic(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.PostgresError) and (exc.sqlstate or "")[:2] in SYSTEMIC


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


async def apply_each(
    conn: asyncpg.Connection,
    names: StoreNames,
    projection: Projection,
    rows: Sequence[asyncpg.Record],
    suffix: str = "",
) -> list[Failure]:
    """Inside a transaction: apply ``rows`` one at a time, each in a SAVEPOINT; returns
    the rows that failed (their effects rolled back) with their errors. An error no
    event causes (``systemic``) is raised instead."""
    failed: list[Failure] = []
    for row in rows:
        try:
            async with conn.transaction():
                await projection.apply(conn, names, [change_of(*row)], suffix)
        except UNREACHABLE:
            raise
        except Exception as exc:
            if systemic(exc):
                raise
            failed.append((row, exc))
    return failed


async def apply_or_isolate(
    conn: asyncpg.Connection,
    names: StoreNames,
    projection: Projection,
    rows: Sequence[asyncpg.Record],
    changes: Sequence[Change],
    suffix: str,
) -> list[Failure]:
    """A rebuild's batch in one (sub)transaction; if it fails, event by event, returning
    the events that failed."""
    try:
        async with conn.transaction():
            await projection.apply(conn, names, changes, suffix)
        return []
    except UNREACHABLE:
        raise
    except Exception:
        async with conn.transaction():
            return await apply_each(conn, names, projection, rows, suffix)


def rows_of(
    rows: Sequence[asyncpg.Record], captured: Sequence[tuple[Change, Exception]] | None
) -> list[Failure]:
    """The stored rows of the changes a bulk projection could not apply."""
    if not captured:
        return []
    by_position = {r[0]: r for r in rows}
    return [(by_position[c.position], exc) for c, exc in captured]


async def record(
    conn: asyncpg.Connection, names: StoreNames, projection: str, row: asyncpg.Record, error: str
) -> bool:
    """Set an event aside (again); True when it was not already set aside unresolved."""
    t = names.q(TABLE)
    was = await conn.fetchval(
        f"SELECT resolved_at IS NULL FROM {t} WHERE projection = $1 AND position = $2",
        projection,
        row[0],
    )
    await conn.execute(
        f"INSERT INTO {t} (projection, position, originator_id, originator_version, topic, "
        "error) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (projection, position) DO UPDATE "
        "SET error = EXCLUDED.error, last_failed_at = now(), resolved_at = NULL, "
        f"attempts = {t}.attempts + 1",
        projection,
        *row[:4],
        error,
    )
    return not was


def announce(projection: str, row: asyncpg.Record, error: str) -> None:
    """The one log line an event set aside gets."""
    log.error(
        "projection %s set aside the event at position %d (%s, %s v%d) and moved on: %s; "
        "see `gateledger set-aside list`",
        projection,
        row[0],
        row[3],
        row[1],
        row[2],
        error,
    )


async def set_aside_batch(
    conn: asyncpg.Connection, store: Store, projection: Projection, limit: int = 1000
) -> int:
    """Apply the next batch event by event, set aside those that fail, and record the
    batch as applied; returns how many events it covered."""
    names = store.names
    async with conn.transaction():
        position = await lock_position(conn, names, projection.name)
        rows = await select_event_rows_on(conn, names, position, limit)
        if not rows:
            return 0
        failed = await apply_each(conn, names, projection, rows)
        fresh = [await record(conn, names, projection.name, r, error_text(e)) for r, e in failed]
        await set_position(conn, names, projection.name, rows[-1][0])
    for (row, exc), new in zip(failed, fresh, strict=True):
        if new:
            announce(projection.name, row, error_text(exc))
    return len(rows)


async def replace(
    conn: asyncpg.Connection, names: StoreNames, projection: str, failed: Sequence[Failure]
) -> None:
    """A rebuild's switch: the events it could not apply replace the projection's
    unresolved rows (the others are resolved: the rebuild applied them in order)."""
    await conn.execute(
        f"UPDATE {names.q(TABLE)} SET resolved_at = now() "
        "WHERE projection = $1 AND resolved_at IS NULL",
        projection,
    )
    for row, exc in failed:
        await record(conn, names, projection, row, error_text(exc))


async def listed(
    conn: asyncpg.Connection | asyncpg.Pool,
    names: StoreNames,
    *,
    everything: bool = False,
    originator_ids: Sequence[UUID] | None = None,
) -> list[SetAside]:
    """Unresolved set-aside events (``everything``: resolved ones too), in position order."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM {names.q(TABLE)} WHERE ($1 OR resolved_at IS NULL) "
        "AND ($2::uuid[] IS NULL OR originator_id = ANY($2::uuid[])) "
        "ORDER BY position, projection",
        everything,
        list(originator_ids) if originator_ids is not None else None,
    )
    return [SetAside(*r) for r in rows]
