"""The per-person rate limits hold across two real ``gateledger serve`` processes on one
database: the limit is shared, not doubled; past it is 429 with Retry-After and nothing
written; other people, and reads that are not counted, go on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from api.auth import mint_token
from api.settings import Settings
from tests.api.processes import serving
from tests.conftest import drop_store_schema
from tests.e2e.server import PORTFOLIO, SECRET, Server

COMMANDS, EXPENSIVE = 4, 2  # a minute, per person: one command every 15 s once spent


@pytest.fixture
def two_servers(database_url: str, schema_name: str, tmp_path: Path) -> Iterator[list[Server]]:
    limits = {"RATE_COMMANDS": str(COMMANDS), "RATE_EXPENSIVE": str(EXPENSIVE)}
    try:
        with serving(database_url, schema_name, tmp_path, 2, **limits) as servers:
            yield servers
    finally:
        asyncio.run(drop_store_schema(database_url, schema_name))


def bearer(person: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(Settings(jwt_secret=SECRET), person, roles)}"}


async def at_once(calls: list[tuple[Server, str, str, dict[str, str]]]) -> list[httpx.Response]:
    """(server, method, path, headers) all sent at the same moment."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(
            *(
                client.request(method, s.api + path, headers=h, json=_body(method, path))
                for s, method, path, h in calls
            )
        )


def _body(method: str, path: str) -> Any:
    return PORTFOLIO if (method, path) == ("POST", "/portfolios") else None


def assert_rate_limited(answer: httpx.Response, most: int) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/rate-limited")
    assert 1 <= int(answer.headers["Retry-After"]) <= most


async def created_portfolios(database_url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            f'SELECT originator_id FROM "{schema}".stored_events WHERE topic = $1',
            "Portfolio.Created",
        )
    finally:
        await conn.close()
    return {str(r["originator_id"]) for r in rows}


async def test_a_person_s_limit_is_shared_by_two_server_processes(
    two_servers: list[Server], database_url: str, schema_name: str
) -> None:
    a, b = two_servers
    admin = bearer("admin", "pmo_admin")
    answers = await at_once([(s, "POST", "/portfolios", admin) for s in (a, b) * 5])
    let_through = [r for r in answers if r.status_code == 201]
    assert len(let_through) == COMMANDS, [r.status_code for r in answers]
    for refused in (r for r in answers if r.status_code != 201):
        assert_rate_limited(refused, 15)
    # both servers refused some: the limit is one, not one per process
    served_by = {r.url.port for r in answers if r.status_code == 429}
    assert served_by == {a.port, b.port}
    # the refused commands wrote nothing
    ids = {r.json()["id"] for r in let_through}
    assert await created_portfolios(database_url, schema_name) == ids
    # reads that cost little are not counted; another person has their own allowance
    other = bearer("admin2", "pmo_admin")
    later = await at_once(
        [
            (a, "GET", "/portfolios", admin),
            (a, "POST", "/portfolios", other),
            (b, "POST", "/portfolios", other),
        ]
    )
    assert [r.status_code for r in later] == [200, 201, 201]


async def test_expensive_reads_are_limited_across_servers_apart_from_commands(
    two_servers: list[Server],
) -> None:
    a, b = two_servers
    auditor = bearer("audrey", "auditor")
    answers = await at_once([(s, "GET", "/audit/verify", auditor) for s in (a, b, a, b)])
    assert sorted(r.status_code for r in answers) == [200] * EXPENSIVE + [429] * 2
    for refused in (r for r in answers if r.status_code == 429):
        assert_rate_limited(refused, 30)
    checkpoint = await at_once([(b, "POST", "/audit/checkpoints", auditor)])  # a command
    assert checkpoint[0].status_code != 429, checkpoint[0].text
