"""What the deciders saw (issue 12, decision context): a decision with the review it
closed, its evidence, every vote's rationale, and the project as the decider saw it."""

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

    second = (await api.get(f"/projects/{project}/gates/G0/decisions/2")).json()
    assert second["decision"]["decision"] == "GO"
    assert second["project"]["as_of_position"] == second["decision"]["position"] - 1
    assert len(second["project"]["review"]["votes"]) == 2
    for missing in ("G0/decisions/3", "G0/decisions/0", "G9/decisions/1"):
        r = await api.get(f"/projects/{project}/gates/{missing}")
        assert r.status_code == 404, (missing, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_decision_shows_who_voted_for_whom_open_conditions_and_portfolio_totals(
    api: Api,
) -> None:
    portfolio = await api.portfolio()
    project = await api.project(portfolio)
    await api.review(project)
    ends = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    assert (await api.post("/delegations", "erin", {"delegate": "frank", "ends": ends})).is_success
    body = {"vote": "approve", "rationale": "for erin", "on_behalf_of": "erin"}
    r = await api.post(f"/projects/{project}/gates/G0/votes", "frank", body)
    assert r.status_code == 200, r.text
    await api.vote(project, "dave")
    condition = {"description": "Do the DPIA", "owner": "olga", "due": "2027-02-01"}
    r = await api.decide(project, "CONDITIONAL_GO", conditions=[condition])
    assert r.status_code == 200, r.text

    body = (await api.get(f"/projects/{project}/gates/G0/decisions/1")).json()
    votes = {v["voter"]: v for v in body["review"]["votes"]}
    assert (votes["erin"]["cast_by"], votes["erin"]["on_behalf_of"]) == ("frank", "erin")
    assert (votes["dave"]["cast_by"], votes["dave"]["on_behalf_of"]) == ("dave", None)
    # an open condition blocks the next review: none was open when G0 was decided; the
    # decision's own condition is in the decision
    assert body["open_conditions"] == []
    assert [c["owner"] for c in body["decision"]["conditions"]] == ["olga"]
    totals = body["portfolio"]
    assert totals["id"] == portfolio and totals["projects"]["total"] == 1
    assert totals["budget"]["committed"] == {"amount": "250000.00", "currency": "EUR"}
    assert totals["as_of_position"] <= body["decision"]["seen_position"]
