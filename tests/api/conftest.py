"""An app per test on a real PostgreSQL, in a schema of its own (through litestar's test
client, or served by uvicorn), and token helpers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import mint_token
from api.bootstrap import load_settings
from api.cli import app as cli_app
from api.settings import Settings
from eventstore.schema import drop_schema
from tests.api.scenario import Api
from tests.conftest import drop_store_schema

SECRET = "test-secret-" + "x" * 40


def app_settings(database_url: str, schema: str, data_dir: Path, **overrides: Any) -> Settings:
    """What API tests serve with, built as a server builds its settings but from no
    environment: their own schema and data folder, the test secret, no escalation job
    (tests that need it run it themselves) and no rate limits (tests of them set their
    own)."""
    values: dict[str, Any] = {
        "jwt_secret": SECRET,
        "run_scheduler": False,
        "rate_commands": 0,
        "rate_expensive": 0,
        **overrides,
    }
    return load_settings({}, database_url=database_url, schema=schema, data_dir=data_dir, **values)


@pytest.fixture
def settings(database_url: str, schema_name: str, tmp_path: Path) -> Settings:
    return app_settings(database_url, schema_name, tmp_path)


@pytest.fixture
async def client(settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local/api/v1") as c:
        yield c
    await drop_store_schema(database_url, settings.schema)


@pytest.fixture
def token(settings: Settings) -> Callable[..., dict[str, str]]:
    """``token("alice", "pmo_admin")`` -> Authorization header for that person."""

    def make(person: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(settings, person, roles)}"}

    return make


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GATELEDGER_JWT_SECRET", raising=False)
    return tmp_path


@pytest.fixture
def demo(
    data_dir: Path, database_url: str, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    """The demo portfolio loaded by ``gateledger demo`` into this test's schema (no
    projector runs meanwhile); yields the log's head position, drops the schema after."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GATELEDGER_SCHEMA", schema_name)
    try:
        assert CliRunner().invoke(cli_app, ["demo"]).exit_code == 0
        yield asyncio.run(_head(database_url, schema_name))
    finally:
        asyncio.run(drop_store_schema(database_url, schema_name))


async def _head(url: str, schema: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(f'SELECT max(notification_id) FROM "{schema}".stored_events')
        )
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served(settings: Settings, database_url: str) -> AsyncIterator[Api]:
    """The app served by uvicorn in this process on a free local port (real HTTP: requests
    race, and bytes reach the app as sent), with a driver over it."""
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield Api(client, settings)  # type: ignore[arg-type]
    finally:
        server.should_exit = True
        await task
        conn = await asyncpg.connect(database_url)
        try:
            await drop_schema(conn, settings.schema)
        finally:
            await conn.close()
