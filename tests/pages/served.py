"""What the browser tests share: a real ``gateledger serve`` on the tests' PostgreSQL (a
process of its own, stopped with SIGTERM), a driver of its API, Debian's Chromium and
where screenshots go."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import mint_token
from api.settings import Settings
from tests.api.processes import start
from tests.conftest import drop_store_schema
from tests.e2e.server import SECRET, Server

CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` cannot download browsers here
SHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
SETTINGS = Settings(jwt_secret=SECRET)


@pytest.fixture
def server(database_url: str, schema_name: str, tmp_path: Path) -> Iterator[Server]:
    served = start(database_url, schema_name, tmp_path)
    try:
        served.wait_healthy()
        yield served
    finally:
        served.process.terminate()
        served.process.wait(30)
        asyncio.run(drop_store_schema(database_url, schema_name))


class Api:
    """The served app's API with tokens minted on the fly; remembers the last position a
    command answered."""

    def __init__(self, server: Server) -> None:
        self.origin = f"http://127.0.0.1:{server.port}"
        self.http = httpx.Client(base_url=self.origin + "/api/v1", timeout=30)
        self.position = 0

    def call(self, method: str, path: str, who: str, body: Any = None, *roles: str) -> Any:
        token = mint_token(SETTINGS, who, roles)
        r = self.http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code < 300, r.text
        answer = r.json()
        if isinstance(answer, dict) and isinstance(answer.get("position"), int):
            self.position = max(self.position, answer["position"])
        return answer

    def caught_up(self, project: str) -> None:
        self.call(
            "GET", f"/projects/{project}?min_position={self.position}", "admin", None, "auditor"
        )
