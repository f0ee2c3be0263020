"""A served app whose stop ends its event streams (``api.serving.Server``), and a small
server-sent events reader over httpx, written from the SSE format (not the server's
code)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import uvicorn

from api.app import create_app
from api.serving import Server
from api.settings import Settings
from eventstore.schema import drop_schema
from tests.api.conftest import _free_port
from tests.api.scenario import Api


class Served:
    """A running server, the driver over it, and how to stop it."""

    def __init__(self, server: Server, task: asyncio.Task[None], api: Api, base: str) -> None:
        self.server, self.task, self.api, self.base = server, task, api, base

    async def stop(self, within_s: float = 10.0) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(asyncio.shield(self.task), within_s)


@asynccontextmanager
async def serving(
    settings: Settings, database_url: str, *, drop: bool = True
) -> AsyncIterator[Served]:
    """The app served until the block ends (then its schema dropped, unless ``drop`` is
    false: a later server carries on with it)."""
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = Server.of(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield Served(server, task, Api(client, settings), base)  # type: ignore[arg-type]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        if drop:
            await _drop(database_url, settings.schema)


async def _drop(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await drop_schema(conn, schema)
    finally:
        await conn.close()


class Message(dict[str, Any]):
    """One SSE message: ``id``, ``data`` (text), ``comments`` (list)."""

    @property
    def position(self) -> int:
        return int(self["id"])

    @property
    def event(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self["data"])
        return decoded


class Reader:
    """Messages of one open stream, as the SSE format defines them."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, within_s: float = 15.0) -> Message | None:
        """The next message (an event or comment lines); None when the stream ended."""
        return await asyncio.wait_for(self._next(), within_s)

    async def _next(self) -> Message | None:
        message = Message(comments=[])
        async for line in self._lines:
            if line == "":
                if len(message) > 1 or message["comments"]:
                    return message
                continue
            if line.startswith(":"):
                message["comments"].append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data" and "data" in message:
                message["data"] += "\n" + value
            else:
                message[name] = value
        return None

    async def events_until(self, position: int, within_s: float = 15.0) -> list[Message]:
        """Every event message up to the one at ``position`` (comments skipped)."""
        got: list[Message] = []
        while not got or got[-1].position < position:
            message = await self.next(within_s)
            assert message is not None, f"the stream ended before position {position}"
            if "id" in message:
                got.append(message)
        return got


@asynccontextmanager
async def stream(
    client: httpx.AsyncClient, headers: dict[str, str], query: str = ""
) -> AsyncIterator[Reader]:
    async with client.stream("GET", f"/events/stream{query}", headers=headers) as r:
        assert r.status_code == 200, (await r.aread()).decode()
        assert r.headers["content-type"].startswith("text/event-stream")
        yield Reader(r)
