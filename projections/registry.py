"""The projections Gateledger keeps, and their table creation."""

from __future__ import annotations

import asyncpg

from eventstore.schema import StoreNames
from projections.audit_trail import AuditTrail
from projections.base import Projection
from projections.governance_state import GovernanceState


def all_projections() -> list[Projection]:
    return [GovernanceState(), AuditTrail()]


def by_name(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections())
    raise KeyError(f"unknown projection {name!r} (known: {known})")


async def create_tables(
    conn: asyncpg.Connection, names: StoreNames, projections: list[Projection] | None = None
) -> None:
    """Create every projection's tables if missing (idempotent, serialised by a lock).

    A projection whose tables have an older layout (its ``version`` went up) loses them:
    they are made anew, empty, and its position goes back to 0, so the projector (or a
    ``gateledger rebuild``) fills them from the log again."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7318262002)")
        for projection in projections or all_projections():
            await _retire_outdated(conn, names, projection)
            for statement in projection.ddl(names, ""):
                await conn.execute(statement)


async def _retire_outdated(
    conn: asyncpg.Connection, names: StoreNames, projection: Projection
) -> None:
    settings = names.q("gl_settings")
    key = f"projection:{projection.name}:version"
    stored = await conn.fetchval(f"SELECT value FROM {settings} WHERE key = $1", key)
    # Tables from before versions were recorded are version 1.
    current = int(stored) if stored is not None else 1
    if current != projection.version:
        for base in (*projection.tables, *projection.retired):
            await conn.execute(f"DROP TABLE IF EXISTS {names.q(base)}")
        await conn.execute(
            f"UPDATE {names.q(names.tracking)} SET notification_id = 0 WHERE application_name = $1",
            projection.name,
        )
    if stored is None or current != projection.version:
        await conn.execute(
            f"INSERT INTO {settings} VALUES ($1, $2) ON CONFLICT (key) DO UPDATE "
            "SET value = EXCLUDED.value",
            key,
            str(projection.version),
        )
