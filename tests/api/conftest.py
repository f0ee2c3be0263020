"""An app per test on a real PostgreSQL, in a schema of its own, and token helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.auth import mint_token
from api.settings import Settings
from eventstore.schema import drop_schema

SECRET = "test-secret-" + "x" * 40


@pytest.fixture
def settings(database_url: str, schema_name: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        schema=schema_name,
        data_dir=tmp_path,
        jwt_secret=SECRET,
        run_projector=True,
        run_scheduler=False,
    )


@pytest.fixture
async def client(settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local/api/v1") as c:
        yield c
    conn = await asyncpg.connect(database_url)
    try:
        await drop_schema(conn, settings.schema)
    finally:
        await conn.close()


@pytest.fixture
def token(settings: Settings) -> Callable[..., dict[str, str]]:
    """``token("alice", "pmo_admin")`` -> Authorization header for that person."""

    def make(person: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(settings, person, roles)}"}

    return make
