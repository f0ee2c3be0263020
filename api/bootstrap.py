"""The composition root: what the app (``create_app``), the ``gateledger`` commands and the
tests build their settings, their store and their read models from, so that all of them
run on the same wiring (the domain's stored names, the schema and serving role the
settings name, the embedded PostgreSQL when there is no ``DATABASE_URL``).

- ``load_settings``: the settings, from the environment (``api.settings``);
- ``opened_store``: the store those settings name, its read models' tables ready;
- ``read_models``: the read models a server keeps up to date.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from api.settings import Settings
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, Timeouts, open_store
from eventstore.embedded import start_embedded
from eventstore.schema import StoreNames
from projections.engine.read_model import Projection
from projections.registry import all_projections, prepare_tables


def load_settings(env: Mapping[str, str] | None = None, /, **overrides: Any) -> Settings:
    """Every setting from its environment variable unless given in ``overrides`` (a bad
    value: ``ValueError`` naming the variable). ``env`` defaults to the process's."""
    return Settings.from_env(env, **overrides)


def read_models() -> list[Projection]:
    """Every read model, as the projector keeps them and ``rebuild all`` rebuilds them."""
    return all_projections()


def database_url(settings: Settings) -> str:
    """``DATABASE_URL`` if configured, else the embedded PostgreSQL in the data folder."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir)


class NoLog(Exception):
    """The settings name a schema that holds no log."""


async def require_log(settings: Settings) -> None:
    """For the commands that act on or check an existing log (``admin``, ``verify``,
    ``checkpoint``, ``checkpoints``): a schema without one (GATELEDGER_SCHEMA or
    DATABASE_URL mistyped) is NoLog, before anything is created in it."""
    conn = await asyncpg.connect(database_url(settings))
    try:
        found = await conn.fetchval(
            "SELECT to_regclass(format('%I.%I', $1::text, $2::text))",
            settings.schema,
            StoreNames(schema=settings.schema).events,
        )
    finally:
        await conn.close()
    if found is None:
        raise NoLog(
            f"no Gateledger log in schema {settings.schema!r} of this database: check "
            "GATELEDGER_SCHEMA and DATABASE_URL (nothing was created)"
        )


def serving_timeouts(settings: Settings) -> Timeouts:
    """The bounds a server's pool waits within (GATELEDGER_DB_*)."""
    return Timeouts(
        acquire_s=settings.db_acquire_timeout_s,
        statement_s=settings.db_statement_timeout_s,
        lock_s=settings.db_lock_timeout_s,
    )


async def open_settings_store(
    settings: Settings, *, min_size: int = 2, max_size: int = 20, timeouts: Timeouts | None = None
) -> Store:
    """The store these settings name (as the serving role, if one is configured); the
    caller closes it (``opened_store`` does)."""
    return await open_store(
        database_url(settings),
        StoreNames(schema=settings.schema),
        stored_names=STORED_NAMES,
        serving_role=settings.serving_role,
        min_size=min_size,
        max_size=max_size,
        timeouts=timeouts,
    )


@asynccontextmanager
async def opened_store(
    settings: Settings,
    *,
    prepare_read_models: bool = True,
    min_size: int = 2,
    max_size: int = 20,
    serving: bool = False,
) -> AsyncIterator[Store]:
    """The store these settings name, closed on leaving. With ``prepare_read_models``
    the read models' tables are created first, and those of an older layout rebuilt
    from the log (``projections.registry.prepare_tables``), as a server does before it
    serves or projects. ``serving``: the server's own pool, sized and bounded by the
    GATELEDGER_DB_* settings (the tables are prepared before, on a connection of their
    own that no statement or lock timeout cuts short: a rebuild may take minutes)."""
    if serving:
        if prepare_read_models:
            async with opened_store(settings, min_size=1, max_size=2):
                pass
        size = settings.db_pool_size
        store = await open_settings_store(
            settings, min_size=min(2, size), max_size=size, timeouts=serving_timeouts(settings)
        )
        try:
            yield store
        finally:
            await store.close()
        return
    store = await open_settings_store(settings, min_size=min_size, max_size=max_size)
    try:
        if prepare_read_models:
            await prepare_tables(store)
        yield store
    finally:
        await store.close()
