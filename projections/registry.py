"""The projections Gateledger keeps, and their table creation."""

from __future__ import annotations

import logging
import time

import asyncpg

from eventstore.database import Store
from eventstore.schema import StoreNames
from projections.access import Access
from projections.audit.model import AuditTrail
from projections.delegations.model import Delegations
from projections.engine.read_model import Projection
from projections.engine.rebuild import rebuild_many
from projections.engine.set_aside import ddl as set_aside_ddl
from projections.inbox.model import Inbox
from projections.portfolios.model import Portfolios
from projections.projects.model import Projects
from projections.requests.model import Requests
from projections.templates.model import Templates

log = logging.getLogger(__name__)


def all_projections() -> list[Projection]:
    """Every read model, each with its own tables, version and position."""
    return [
        Portfolios(),
        Projects(),
        Requests(),
        Delegations(),
        Inbox(),
        AuditTrail(),
        Access(),
        Templates(),
    ]


def by_name(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections())
    raise KeyError(f"unknown projection {name!r} (known: {known})")


async def prepare_tables(store: Store) -> list[Projection]:
    """Create the read models' tables; those whose layout changed since they were built
    (see ``create_tables``) are rebuilt from the log before anything reads them. Returns
    the rebuilt ones."""
    async with store.pool.acquire() as conn:
        outdated = await create_tables(conn, store.names)
    if outdated:
        names = ", ".join(p.name for p in outdated)
        log.warning("read models with an older layout: %s; rebuilding them from the log", names)
        started = last = time.monotonic()

        def progress(position: int, head: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= 5:
                last = now
                rate = position / max(now - started, 1e-6)
                log.warning("rebuilding %s: %d of %d events (%.0f/s)", names, position, head, rate)

        result = await rebuild_many(store, outdated, progress=progress)
        log.warning("rebuilt %s: %d events in %.1f s", names, result.events, result.seconds)
    return outdated


async def create_tables(
    conn: asyncpg.Connection, names: StoreNames, projections: list[Projection] | None = None
) -> list[Projection]:
    """Create every projection's tables if missing (idempotent, serialised by a lock).

    A projection whose tables have an older layout (its ``version`` went up) loses them:
    they are made anew, empty, and its position goes back to 0; it is returned, for
    ``prepare_tables`` to rebuild (otherwise the projector refills it event by event)."""
    outdated = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7318262002)")
        for statement in set_aside_ddl(names):  # events the projections could not apply
            await conn.execute(statement)
        for projection in projections or all_projections():
            if await _retire_outdated(conn, names, projection):
                outdated.append(projection)
            for statement in projection.ddl(names, ""):
                await conn.execute(statement)
    return outdated


async def _retire_outdated(
    conn: asyncpg.Connection, names: StoreNames, projection: Projection
) -> bool:
    """Drop the tables of an older version and reset its position; True if it did."""
    settings = names.q("gl_settings")
    key = f"projection:{projection.name}:version"
    stored = await conn.fetchval(f"SELECT value FROM {settings} WHERE key = $1", key)
    if stored is not None:
        current = int(stored)
    else:  # tables from before versions were recorded are version 1; none: a new store
        found = await conn.fetchval("SELECT to_regclass($1)", names.q(projection.tables[0]))
        current = 1 if found is not None else projection.version
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
    return current != projection.version
