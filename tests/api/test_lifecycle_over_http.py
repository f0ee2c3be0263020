"""Routes no test called over HTTP before (issue 12 acceptance): HOLD and RECYCLE, cancel,
assess, implement, decline, and a custom template enforced end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def head(api: Api) -> int:
    return (await api.client.get("/health")).json()["position"]


async def passed_votes(api: Api, project: str, gate: str = "G0") -> None:
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter, gate=gate)).status_code == 200


async def test_hold_and_recycle_close_the_review_and_show_in_the_read_models(api: Api) -> None:
    held = await api.project()
    await api.review(held)
    await passed_votes(api, held)
    assert (await api.decide(held, "HOLD")).status_code == 200
    state = await api.state(held)
    assert (state["status"], state["stage"], state["review"]) == ("on_hold", "Proposal", None)
    assert [d["decision"] for d in state["decisions"]] == ["HOLD"]

    recycled = await api.project()
    await api.review(recycled)
    await passed_votes(api, recycled)
    assert (await api.decide(recycled, "RECYCLE")).status_code == 200
    state = await api.state(recycled)
    assert (state["stage"], state["review"], state["next_gate"]) == ("Proposal", None, "G0")
    # the gate is reviewed again from scratch: a new review, fresh votes
    await api.review(recycled)
    assert (await api.state(recycled))["review"]["votes"] == []
    listed = (await api.get(f"/projects?status=on_hold&min_position={api.last_position}")).json()
    assert [p["id"] for p in listed["items"]] == [held]


async def test_cancel_ends_the_project_and_its_open_review(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    r = await api.post(f"/projects/{project}/cancel", "paula", {"reason": "no"})
    assert r.status_code == 403  # the PM may not; nothing written
    before = await head(api)
    r = await api.post(f"/projects/{project}/cancel", "admin", {"reason": "merged"}, "pmo_admin")
    assert r.status_code == 200, r.text
    assert (await head(api)) == before + 1
    state = await api.state(project)
    assert (state["status"], state["review"]) == ("cancelled", None)
    r = await api.vote(project, "dave")
    assert r.status_code == 409, r.text  # nothing left to vote on
    assert (await head(api)) == before + 1


async def _cr(api: Api, project: str, amount: str) -> str:
    body = {
        "title": "More licences",
        "description": "for the pilot",
        "cost_delta": {"amount": amount, "currency": "EUR"},
        "schedule_delta_days": 1,
    }
    r = await api.post(f"/projects/{project}/change-requests", "paula", body)
    assert r.status_code == 201, r.text
    cr: str = r.json()["id"]
    assert (await api.post(f"/change-requests/{cr}/submit", "paula", None)).status_code == 200
    return cr


async def test_assess_then_approve_then_implement_a_change_request(api: Api) -> None:
    project = await api.project()
    cr = await _cr(api, project, "1000.00")
    r = await api.post(f"/change-requests/{cr}/assess", "paula", {"assessment": "fine"})
    assert r.status_code == 403  # the PMO assesses
    r = await api.post(
        f"/change-requests/{cr}/assess", "admin", {"assessment": "low risk"}, "pmo_admin"
    )
    assert r.status_code == 200, r.text
    read = (await api.get(f"/change-requests/{cr}?min_position={api.last_position}")).json()
    assert (read["status"], read["assessment"]) == ("assessed", "low risk")
    r = await api.post(f"/change-requests/{cr}/implement", "paula", None)
    assert r.status_code == 409  # not approved yet
    decided = {"decision": "approve", "rationale": "worth it"}
    assert (await api.post(f"/change-requests/{cr}/decision", "sam", decided)).status_code == 200
    r = await api.post(f"/change-requests/{cr}/implement", "sam", None)
    assert r.status_code == 403  # the PM marks it implemented
    r = await api.post(f"/change-requests/{cr}/implement", "paula", None)
    assert r.status_code == 200, r.text
    listed = (
        await api.get(f"/projects/{project}/change-requests?min_position={api.last_position}")
    ).json()
    assert [(c["id"], c["status"]) for c in listed["items"]] == [(cr, "implemented")]


async def test_a_declined_signoff_leaves_the_inbox_and_blocks_the_gate(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    await passed_votes(api, project)
    assert (await api.decide(project, "GO")).status_code == 200
    body = {
        "deliverable": "Business case",
        "version": "1.0",
        "content_hash": "sha256:1",
        "signatories": ["sam"],
    }
    r = await api.post(f"/projects/{project}/signoffs", "paula", body)
    assert r.status_code == 201, r.text
    signoff = r.json()["id"]
    r = await api.post(f"/signoffs/{signoff}/decline", "sam", {"comment": ""})
    assert r.status_code == 422  # a decline says why
    r = await api.post(f"/signoffs/{signoff}/decline", "sam", {"comment": "numbers wrong"})
    assert r.status_code == 200, r.text
    q = f"min_position={api.last_position}"
    read = (await api.get(f"/signoffs/{signoff}?{q}")).json()
    assert (read["status"], read["declined_by"]["comment"]) == ("declined", "numbers wrong")
    items = (await api.client.get(f"/me/inbox?{q}", headers=api.auth("sam"))).json()["items"]
    assert signoff not in [i["subject_id"] for i in items]
    listed = (await api.get(f"/projects/{project}/signoffs?{q}")).json()["items"]
    assert [(s["id"], s["status"]) for s in listed] == [(signoff, "declined")]
    blocked = await api.post(f"/projects/{project}/gates/G1/review", "paula", {"evidence": []})
    assert blocked.status_code == 409 and "sign-off" in blocked.json()["detail"]


CUSTOM: dict[str, Any] = {
    "name": "Strict",
    "version": 1,
    "gates": [
        {
            "name": "S1",
            "opens_stage": "Build",
            "title": "Start",
            "quorum": 3,
            "mandatory_voters": ["sponsor"],
            "vote_due_days": 3,
            "required_signoffs": [{"deliverable": "Charter", "signer_role": "sponsor"}],
        }
    ],
}


async def test_a_custom_template_is_enforced_end_to_end(api: Api) -> None:
    board = {"members": ["carol", "dave", "erin", "fay"], "chair": "carol"}
    portfolio = await api.portfolio(board=board, template=CUSTOM)
    project = await api.project(portfolio)
    r = await api.post(f"/projects/{project}/gates/S1/review", "paula", {"evidence": []})
    assert r.status_code == 409 and "sign-off" in r.json()["detail"]  # the charter first
    body = {
        "deliverable": "Charter",
        "version": "1",
        "content_hash": "sha256:c",
        "signatories": ["sam"],
    }
    signoff = (await api.post(f"/projects/{project}/signoffs", "paula", body)).json()["id"]
    assert (
        await api.post(f"/signoffs/{signoff}/sign", "sam", {"comment": "ok"})
    ).status_code == 200
    evidence = {"evidence": [{"title": "Charter", "content_hash": "sha256:c"}]}
    r = await api.post(f"/projects/{project}/gates/S1/review", "paula", evidence)
    assert r.status_code == 200, r.text
    state = await api.state(project)
    due = date.fromisoformat(state["review"]["due"])
    assert due == datetime.now(UTC).date() + timedelta(days=3)  # the template's vote_due_days
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter, gate="S1")).status_code == 200
    before = await head(api)
    r = await api.decide(project, "GO", gate="S1")
    assert r.status_code == 409 and "quorum" in r.json()["detail"]  # 2 of 3
    assert (await api.vote(project, "fay", gate="S1")).status_code == 200
    r = await api.decide(project, "GO", gate="S1")
    assert r.status_code == 409 and "sam" in r.json()["detail"]  # the sponsor must approve
    assert (await api.vote(project, "sam", gate="S1")).status_code == 200
    assert (await head(api)) == before + 2  # the refused decisions wrote nothing
    r = await api.decide(project, "GO", gate="S1")
    assert r.status_code == 200, r.text
    assert (await api.state(project))["stage"] == "Build"


async def test_an_invalid_template_is_422_and_writes_nothing(api: Api) -> None:
    board = {"members": ["carol", "dave"], "chair": "carol"}
    for template in (
        {**CUSTOM, "gates": []},  # no gate
        {**CUSTOM, "gates": [{**CUSTOM["gates"][0], "quorum": 9}]},  # more than can vote
        {**CUSTOM, "gates": [{**CUSTOM["gates"][0], "vote_due_days": 0}]},
    ):
        r = await api.post(
            "/portfolios",
            "admin",
            {
                "name": "Bad",
                "envelope": {"amount": "1.00", "currency": "EUR"},
                "board": board,
                "template": template,
            },
            "pmo_admin",
        )
        assert r.status_code == 422, (template, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await head(api)) is None
