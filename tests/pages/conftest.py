"""Pages on a real PostgreSQL: an app per test in its own schema, a project with its G0
review open (board carol (chair), dave, erin; PM paula), and browsers that keep their
own session cookie."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.pages.sessions import COOKIE, mint_link
from api.settings import Settings
from tests.api.conftest import app_settings
from tests.api.scenario import Api
from tests.conftest import drop_store_schema
from tests.pages.served import server  # noqa: F401  (the browser tests' served app)

BASE = "http://testserver.local"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """One person's browser: its own session cookie, sent by hand (the test client's
    jar is shared by every browser of a test)."""

    client: AsyncTestClient[Any]
    settings: Settings
    cookie: str | None = None
    pages: dict[str, str] = field(default_factory=dict)

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        self.client.cookies.clear()
        r = await self.client.request(
            method, BASE + path, headers=headers, follow_redirects=False, **kwargs
        )
        set_cookie = r.headers.get("set-cookie", "")
        if set_cookie.startswith(f"{COOKIE}="):
            value = set_cookie.split(";")[0].partition("=")[2].strip('"')
            self.cookie = value or None
        self.client.cookies.clear()
        return r

    async def get(self, path: str, **kwargs: Any) -> Any:
        r = await self.request("GET", path, **kwargs)
        self.pages[path] = r.text
        return r

    async def post(self, path: str, form: dict[str, Any], **kwargs: Any) -> Any:
        return await self.request("POST", path, data=form, **kwargs)

    def csrf(self, page: str) -> str:
        found = CSRF.search(page)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    async def sign_in(self, person: str, to: str = "/inbox", *roles: str) -> Any:
        url = mint_link(self.settings, BASE, person, roles, to=to)
        token = url.partition("token=")[2]
        r = await self.post("/sign-in/link", {"token": token})
        assert r.status_code == 303, r.text
        assert self.cookie, "no session cookie"
        return r


@dataclass
class Room:
    api: Api
    settings: Settings
    client: AsyncTestClient[Any]
    project: str
    schema: str
    database_url: str

    def browser(self) -> Browser:
        return Browser(self.client, self.settings)


@pytest.fixture
async def room(database_url: str, schema_name: str, tmp_path: Path) -> AsyncIterator[Room]:
    settings = app_settings(database_url, schema_name, tmp_path)
    async with AsyncTestClient(app=create_app(settings), base_url=BASE + "/api/v1") as client:
        api = Api(client, settings)
        project = await api.project()
        await api.review(project)
        await api.state(project)  # the read models (the inbox) hold the review
        yield Room(api, settings, client, project, schema_name, database_url)
    await drop_store_schema(database_url, schema_name)
