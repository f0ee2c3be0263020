"""Shared fixtures: a real PostgreSQL for every test that touches storage.

With ``DATABASE_URL`` set, tests use that server; otherwise a throwaway embedded
PostgreSQL is started once per test session. Each test gets a store in a schema of its
own (dropped afterwards), so tests never see each other's events. A database that
cannot be reached fails the tests: nothing here ever skips.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from eventstore.database import Store
from eventstore.embedded import start_embedded
from eventstore.schema import drop_schema


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    tmp = Path(tempfile.mkdtemp(prefix="gateledger-test-"))
    yield start_embedded(tmp, throwaway=True)


@pytest.fixture
def schema_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def store(database_url: str, schema_name: str) -> AsyncIterator[Store]:
    """The store a server on this database and schema opens (``api.bootstrap``), its read
    models' tables not made yet (tests of them make them). (Imported here: the domain's
    tests need none of the layers above it.)"""
    from api.bootstrap import opened_store
    from api.settings import Settings

    settings = Settings(database_url=database_url, schema=schema_name)
    async with opened_store(settings, prepare_read_models=False, min_size=1, max_size=40) as s:
        try:
            yield s
        finally:
            async with s.pool.acquire() as conn:
                await drop_schema(conn, schema_name)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(database_url)
    try:
        yield c
    finally:
        await c.close()


async def drop_store_schema(url: str, schema: str) -> None:
    """Drop a test's schema on a connection of its own (for fixtures outside ``store``)."""
    conn = await asyncpg.connect(url)
    try:
        await drop_schema(conn, schema)
    finally:
        await conn.close()
