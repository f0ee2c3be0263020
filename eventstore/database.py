"""Opening a store: the asyncpg pool, schema creation and the recorders on top."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
import msgspec
from eventsourcing.persistence import Mapper

from eventstore.errors import DatabaseUnavailable
from eventstore.recorder import AsyncApplicationRecorder, AsyncSnapshotStore
from eventstore.schema import StoreNames, create_schema
from eventstore.transcoder import new_mapper


@dataclass
class Store:
    """Everything that talks to the event store, sharing one pool."""

    pool: asyncpg.Pool
    names: StoreNames
    events: AsyncApplicationRecorder
    snapshots: AsyncSnapshotStore
    mapper: Mapper[UUID]

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()


_JSONB_VERSION = b"\x01"  # jsonb's binary form: a version byte, then the JSON text
_json_decode = msgspec.json.decode


def _encode_jsonb(value: object) -> bytes:
    return _JSONB_VERSION + msgspec.json.encode(value)


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
    dsn: str, names: StoreNames | None = None, *, min_size: int = 2, max_size: int = 20
) -> Store:
    """Connect, create the schema idempotently and return the store."""
    names = names or StoreNames()
    try:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, command_timeout=60, init=init_connection
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    async with pool.acquire() as conn:
        await create_schema(conn, names)
    return Store(
        pool=pool,
        names=names,
        events=AsyncApplicationRecorder(pool, names),
        snapshots=AsyncSnapshotStore(pool, names),
        mapper=new_mapper(),
    )
