"""What the deciders saw (issue 12, decision context): a decision with the review it
closed, its evidence, every vote's rationale, and the project as the decider saw it."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def test_a_decision_shows_the_evidence_votes_and_the_project_the_decider_saw(
    api: Api,
) -> None:
    project = await api.project()
    review = await api.review(project)
    r = await api.post(
        f"/projects/{project}/gates/G0/votes",
        "dave",
        {"vote": "reject", "rationale": "no business case"},
    )
    assert r.status_code == 200, r.text
    await api.vote(project, "dave")  # changed their mind: the current vote counts
    await api.vote(project, "erin")
    seen = api.last_position
    r = await api.decide(project, "HOLD", seen_position=review["position"])
    assert r.status_code == 200, r.text
    held_at = r.json()["position"]
    await api.review(project)  # a second review of G0, decided GO
    for voter in ("dave", "erin"):
        await api.vote(project, voter)
    assert (await api.decide(project, "GO")).status_code == 200

    first = await api.get(f"/projects/{project}/gates/G0/decisions/1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["n"] == 1 and body["gate"] == "G0"
    decision = body["decision"]
    assert decision["decision"] == "HOLD" and decision["position"] == held_at
    assert decision["seen_position"] == review["position"] and decision["decided_by"]["person"]
    assert [e["title"] for e in body["review"]["evidence"]] == ["Mandate"]
    votes = {v["voter"]: v for v in body["review"]["votes"]}
    assert set(votes) == {"dave", "erin"} and votes["dave"]["vote"] == "approve"
    assert votes["erin"]["rationale"] == "erin says approve"
    # the project as the decider said they saw it: at the review's request, before votes
    assert body["project"]["as_of_position"] == review["position"]
    assert body["project"]["review"]["votes"] == []
    assert seen < held_at

    second = (await api.get(f"/projects/{project}/gates/G0/decisions/2")).json()
    assert second["decision"]["decision"] == "GO"
    assert second["project"]["as_of_position"] == second["decision"]["position"] - 1
    assert len(second["project"]["review"]["votes"]) == 2
    for missing in ("G0/decisions/3", "G0/decisions/0", "G9/decisions/1"):
        r = await api.get(f"/projects/{project}/gates/{missing}")
        assert r.status_code == 404, (missing, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
