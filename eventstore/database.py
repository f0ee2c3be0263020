"""Opening a store: the asyncpg pool, schema creation and the recorders on top."""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from eventstore.errors import DatabaseUnavailable, PoolExhausted
from eventstore.loader import AggregateCache
from eventstore.mapper import NamedMapper, new_mapper
from eventstore.names import NameRegistry, TypeNames
from eventstore.recorder import AsyncApplicationRecorder, AsyncSnapshotStore
from eventstore.roles import grant_serving_role
from eventstore.schema import StoreNames, ensure_schema, quote_ident

log = logging.getLogger(__name__)


@dataclass
class Store:
    """Everything that talks to the event store, sharing one pool."""

    pool: asyncpg.Pool
    names: StoreNames
    events: AsyncApplicationRecorder
    snapshots: AsyncSnapshotStore
    mapper: NamedMapper
    # this process's loaded aggregates (eventstore.loader): version-checked on every load
    aggregates: AggregateCache = field(default_factory=AggregateCache)

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()


@dataclass(frozen=True)
class Timeouts:
    """What a pool's sessions may wait: for a free connection (client side, then
    ``PoolExhausted``), for one statement and for one lock (PostgreSQL's
    ``statement_timeout`` and ``lock_timeout``, set at each connection's start, so they
    survive the pool's reset between uses). ``None``: no bound."""

    acquire_s: float | None = None
    statement_s: float | None = None
    lock_s: float | None = None

    def server_settings(self) -> dict[str, str]:
        out = {}
        if self.statement_s is not None:
            out["statement_timeout"] = f"{round(self.statement_s * 1000)}ms"
        if self.lock_s is not None:
            out["lock_timeout"] = f"{round(self.lock_s * 1000)}ms"
        return out


class Pool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no types
    """asyncpg's pool with a default acquire timeout: a request that finds every
    connection taken waits that long, then gets ``PoolExhausted`` (a 503), never hangs.
    Broken connections are not reused: asyncpg terminates a connection whose reset fails
    on release, and opens a new one on the next acquire."""

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None) -> Any:
        wait = self.acquire_timeout if timeout is None else timeout
        return _Acquire(super().acquire(timeout=wait), wait)


class _Acquire:
    """``pool.acquire()``'s context (or awaitable) turning its timeout into PoolExhausted."""

    def __init__(self, inner: Any, timeout: float | None) -> None:
        self._inner, self._timeout = inner, timeout

    def _exhausted(self) -> PoolExhausted:
        return PoolExhausted(
            f"no database connection came free within {self._timeout:g} s; retry shortly"
        )

    async def __aenter__(self) -> Any:
        try:
            return await self._inner.__aenter__()
        except TimeoutError:
            if self._timeout is None:
                raise
            raise self._exhausted() from None

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    def __await__(self) -> Generator[Any, None, Any]:
        return self._wait().__await__()

    async def _wait(self) -> Any:
        try:
            return await self._inner
        except TimeoutError:
            if self._timeout is None:
                raise
            raise self._exhausted() from None


async def keep_session(conn: asyncpg.Connection) -> None:
    """What the pool runs on a released connection beyond asyncpg's own clean-up (which
    rolls back an open transaction and drops the listeners): nothing. asyncpg's default
    sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release, a round trip per use (a command uses the pool five times). No code leaves
    session state behind: session settings are made at connect (``Timeouts``, the
    serving role), cursors live in transactions, and whoever takes an advisory lock or
    listens (projector, rebuild, webhook dispatcher, event feed) releases it itself."""


_JSONB_VERSION = b"\x01"  # jsonb's binary form: a version byte, then the JSON text
_json_decode = msgspec.json.decode


def _encode_jsonb(value: object) -> bytes:
    return _JSONB_VERSION + msgspec.json.encode(value)


async def _login_as(dsn: str, role: str) -> dict[str, str]:
    """``{"user": role}`` if the server lets this process log in as ``role`` without a
    password, else ``{}`` (then the pool switches to it)."""
    try:
        conn = await asyncpg.connect(dsn, user=role, password="")
    except (OSError, asyncpg.PostgresError):
        log.warning("cannot log in as %s; switching to it with SET ROLE instead", role)
        return {}
    await conn.close()
    return {"user": role}


def _decode_jsonb(data: bytes) -> object:
    return _json_decode(memoryview(data)[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb values travel as Python objects, encoded by msgspec (in jsonb's binary
    form, so that they can also be sent by COPY)."""
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )


async def open_store(
    dsn: str,
    names: StoreNames | None = None,
    *,
    stored_names: NameRegistry | None,
    min_size: int = 2,
    max_size: int = 20,
    serving_role: str | None = None,
    timeouts: Timeouts | None = None,
) -> Store:
    """Connect, create the schema idempotently and return the store.

    ``stored_names`` is the domain's registry of stored names (``domain.stored_names``),
    required so that no composition forgets it; ``None`` writes module paths and reads
    no stored name (only for tests of the store alone).

    With ``serving_role``, ``dsn`` names the store's owner: the schema is created (or
    brought up to date) as the owner, the role is given what serving needs
    (``eventstore.roles``), and the pool connects as that role where PostgreSQL lets it
    log in without the owner's password (the embedded one does); elsewhere each pooled
    connection switches to it with SET ROLE, which guards against the server's own
    mistakes only (RESET ROLE undoes it).

    ``timeouts`` bound the pool's waits (``Timeouts``); none: unbounded, as the
    command-line tools (a rebuild, an export) want."""
    names = names or StoreNames()
    try:
        owner = await asyncpg.connect(dsn, server_settings={"search_path": "pg_catalog"})
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    login: dict[str, str] = {}
    try:
        await ensure_schema(owner, names)
        if serving_role:
            await grant_serving_role(owner, names, serving_role)
            login = await _login_as(dsn, serving_role)
    finally:
        await owner.close()
    switch = f"SET ROLE {quote_ident(serving_role)}" if serving_role and not login else ""

    async def init(conn: asyncpg.Connection) -> None:
        if switch:
            await conn.execute(switch)
        await init_connection(conn)

    timeouts = timeouts or Timeouts()
    pool = Pool(
        dsn,
        min_size=min(min_size, max_size),
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=init,
        reset=keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        command_timeout=60,
        server_settings=timeouts.server_settings(),
        **login,
    )
    pool.acquire_timeout = timeouts.acquire_s
    try:
        await pool
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    return Store(
        pool=pool,
        names=names,
        events=AsyncApplicationRecorder(pool, names),
        snapshots=AsyncSnapshotStore(pool, names),
        mapper=new_mapper(TypeNames(stored_names)),
    )
