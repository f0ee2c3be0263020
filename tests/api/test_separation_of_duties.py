"""Separation of duties through the HTTP API (issue 10 item 2): the admin cannot seat
themselves on the board they create, and one member holding two delegations cannot pass
a gate alone. Each refusal is problem+json and writes nothing (log head unchanged)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import BOARD, PORTFOLIO, Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def head(api: Api) -> int | None:
    return (await api.client.get("/health")).json()["position"]


def assert_problem(r: Any, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    for word in words:
        assert word in body["detail"]


async def test_the_admin_cannot_seat_themselves_on_the_board_they_create(api: Api) -> None:
    await api.portfolio()  # the log is not empty: "unchanged" compares positions
    before = await head(api)
    board = {"members": [*BOARD["members"], "admin"], "chair": "admin"}
    r = await api.post("/portfolios", "admin", {**PORTFOLIO, "board": board}, "pmo_admin")
    assert_problem(r, 422, "board: admin", "does not decide under it")
    assert await head(api) == before


async def test_one_member_with_two_delegations_cannot_pass_a_gate_alone(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    ends = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    for delegator in ("carol", "dave"):  # the chair and a member both delegate to erin
        r = await api.post("/delegations", delegator, {"delegate": "erin", "ends": ends})
        assert r.status_code == 201, r.text
    for for_whom in (None, "dave", "carol"):
        body = {"vote": "approve", "rationale": "erin agrees", "on_behalf_of": for_whom}
        r = await api.post(f"/projects/{project}/gates/G0/votes", "erin", body)
        assert r.status_code == 200, r.text
    before = await head(api)
    body = {"decision": "GO", "rationale": "erin decides", "on_behalf_of": "carol"}
    r = await api.post(f"/projects/{project}/gates/G0/decision", "erin", body)
    assert_problem(r, 409, "quorum needs 2 approvals, has 1")
    assert await head(api) == before
    assert (await api.state(project))["status"] == "proposed"
