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
    """Create every projection's tables if missing (idempotent, serialised by a lock)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7318262002)")
        for projection in projections or all_projections():
            for statement in projection.ddl(names, ""):
                await conn.execute(statement)
