"""One app on a real PostgreSQL shared by every example of a hypothesis test.

Hypothesis runs a test body many times, while pytest's async fixtures live once per test
function, so a property test here is a plain function: the ``harness`` fixture owns an
event loop, the app (no live projector: the test drives the projections itself) and its
store, and ``harness.run(coro)`` runs one example's steps on that loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from hypothesis import settings
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.auth import mint_token
from api.settings import Settings
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from eventstore.schema import StoreNames
from projections.access import Access
from projections.engine.rebuild import rebuild_many
from projections.engine.tracking import read_position
from projections.registry import all_projections
from tests.api.conftest import app_settings
from tests.conftest import drop_store_schema
from tests.projections.helpers import drain, dump

T = TypeVar("T")
SET_ASIDE = "gl_set_aside"  # where a projector puts events it could not apply
# Modest counts keep the suite fast; no example database, so runs leave no files behind.
PROPERTY = settings(max_examples=30, deadline=None, database=None)
SECRET = "property-secret-" + "x" * 40


class Harness:
    """The client, the store and the checks every accepted command must pass."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: AsyncTestClient[Any],
        settings: Settings,
        store: Store,
    ) -> None:
        self.loop, self.client, self.settings, self.store = loop, client, settings, store
        self.accepted = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def auth(self, person: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, person, roles)}"}

    async def _send(self, path: str, person: str, body: Any, roles: tuple[str, ...]) -> Any:
        """POST a command; whatever the values, the answer is never a server error."""
        # The app runs no projector here: the access model, which commands wait for
        # (api/access.py), is brought to the head first.
        await drain(self.store, projections=[Access()])
        # json.dumps escapes lone surrogates, so even those reach the server.
        headers = {**self.auth(person, *roles), "content-type": "application/json"}
        r = await self.client.post(path, content=json.dumps(body).encode(), headers=headers)
        assert r.status_code < 500, f"{path} {body!r} -> {r.status_code} {r.text}"
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
        return r

    async def post(self, path: str, person: str, body: Any, *roles: str) -> Any:
        """The command under test, with odd values: refused with a 4xx or accepted."""
        r = await self._send(path, person, body, roles)
        self.accepted += r.status_code < 400
        return r

    async def delete(self, path: str, person: str, params: dict[str, str]) -> Any:
        """DELETE a resource (its values in the query string): refused with a 4xx or done."""
        # Lone surrogates go out as the bytes a careless client would send (httpx itself
        # refuses to encode them), which are not UTF-8 at all.
        query = "&".join(
            f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params.items()
        )
        await drain(self.store, projections=[Access()])
        r = await self.client.delete(f"{path}?{query}", headers=self.auth(person))
        assert r.status_code < 500, f"DELETE {path} {params!r} -> {r.status_code} {r.text}"
        self.accepted += r.status_code < 400
        return r

    async def must(self, path: str, person: str, body: Any, *roles: str) -> dict[str, Any]:
        """A step the example needs (valid values): it must be accepted."""
        r = await self._send(path, person, body, roles)
        assert r.status_code in (200, 201), f"{path} {body!r} -> {r.status_code} {r.text}"
        return r.json()

    async def read(self, path: str) -> dict[str, Any]:
        r = await self.client.get(path, headers=self.auth("audrey", "auditor", "pmo_admin"))
        assert r.status_code == 200, f"GET {path} -> {r.status_code} {r.text}"
        return r.json()

    async def audited(self, answer: dict[str, Any], actor: str) -> None:
        """The command's event reads back from the audit trail."""
        trail = await self.read(f"/audit/events?actor={actor}&limit=500")
        assert answer["position"] in [item["position"] for item in trail["items"]]

    async def head(self) -> int:
        return await self.store.events.max_notification_id() or 0

    async def project_all(self) -> None:
        """Every read model applies every event: their positions reach the log's head."""
        await drain(self.store)
        head = await self.head()
        for projection in all_projections():
            position = await read_position(self.store.pool, self.store.names, projection.name)
            assert position == head, f"{projection.name} stopped at {position} of {head}"
        async with self.store.pool.acquire() as conn:
            if await conn.fetchval("SELECT to_regclass($1)", self.store.names.q(SET_ASIDE)):
                unresolved = await conn.fetch(
                    f"SELECT * FROM {self.store.names.q(SET_ASIDE)} WHERE resolved_at IS NULL"
                )
                assert not unresolved, f"events set aside: {unresolved}"

    async def rebuild_matches(self) -> None:
        """A rebuild from position 0 writes the same rows the live projection did."""
        await self.project_all()
        live = await dump(self.store)
        await rebuild_many(self.store, all_projections())
        assert await dump(self.store) == live

    def finish(self) -> None:
        """After all examples: some were accepted (the property was not vacuous), and
        the whole log they wrote rebuilds into the rows the projector wrote."""
        assert self.accepted > 0, "no example was accepted"
        self.run(self.rebuild_matches())


@pytest.fixture
def harness(database_url: str, schema_name: str, tmp_path: Path) -> Iterator[Harness]:
    settings = app_settings(database_url, schema_name, tmp_path, run_projector=False)
    loop = asyncio.new_event_loop()
    client = AsyncTestClient(app=create_app(settings), base_url="http://testserver.local/api/v1")
    loop.run_until_complete(client.__aenter__())
    # The app serves from the test client's own thread and loop: this store is ours.
    names = StoreNames(schema=schema_name)
    opening = open_store(
        database_url,
        names,
        min_size=1,
        max_size=len(all_projections()) + 4,
        stored_names=STORED_NAMES,
    )
    store = loop.run_until_complete(opening)
    try:
        yield Harness(loop, client, settings, store)
    finally:
        loop.run_until_complete(store.close())
        loop.run_until_complete(client.__aexit__(None, None, None))
        loop.run_until_complete(drop_store_schema(database_url, schema_name))
        loop.close()
