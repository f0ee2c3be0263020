"""The PMO may revoke anyone's delegation (issue 12: "revocation by the delegator or the
PMO"); nobody else may revoke one that is not theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def test_the_pmo_revokes_a_delegation_it_did_not_give(api: Api) -> None:
    project = await api.project()
    ends = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    r = await api.post("/delegations", "erin", {"delegate": "frank", "ends": ends})
    assert r.status_code == 201, r.text
    delegation = r.json()["details"]["delegation_id"]
    seen = await api.client.get(
        f"/projects/{project}?min_position={r.json()['position']}", headers=api.auth("frank")
    )
    assert seen.status_code == 200  # frank sees what erin sees

    head = (await api.client.get("/health")).json()["position"]
    r = await api.client.delete(f"/delegations/{delegation}", headers=api.auth("dave"))
    assert r.status_code == 404, r.text  # not dave's, and dave is no PMO
    assert (await api.client.get("/health")).json()["position"] == head

    r = await api.client.delete(
        f"/delegations/{delegation}?reason=frank+left", headers=api.auth("adam", "pmo_admin")
    )
    assert r.status_code == 200, r.text
    position = r.json()["position"]
    trail = await api.get(f"/audit/events?type=Delegation.Revoked&min_position={position}")
    [row] = trail.json()["items"]
    assert (row["actor"], row["rationale"]) == ("adam", "frank left")
    gone = await api.client.get(
        f"/projects/{project}?min_position={position}", headers=api.auth("frank")
    )
    assert gone.status_code == 404
    r = await api.client.delete(f"/delegations/{delegation}", headers=api.auth("erin"))
    assert r.status_code == 409  # already revoked
