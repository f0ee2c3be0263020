"""The PMO administers governance over HTTP (issue 12, "Governance is frozen"): boards,
envelopes, project roles, hold and resume, re-baselines. Each act is pmo_admin's only,
a refusal writes nothing, and the read models show the result."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import BOARD, Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def head(api: Api) -> int:
    r = await api.client.get("/health")
    return r.json()["position"] or 0


async def read_as(api: Api, path: str, person: str) -> Any:
    """A read by ``person`` holding no global role."""
    return await api.client.get(path, headers=api.auth(person))


async def admin(api: Api, path: str, body: Any, person: str = "admin") -> Any:
    return await api.post(path, person, body, "pmo_admin")


async def refused(api: Api, path: str, body: Any, status: int, *who: str) -> Any:
    """``who`` (roles after the person) gets ``status`` and the log does not move."""
    before = await head(api)
    r = await api.post(path, who[0], body, *who[1:])
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await head(api) == before
    return r.json()


async def portfolio_view(api: Api, portfolio_id: str) -> dict[str, Any]:
    r = await api.get(f"/portfolios/{portfolio_id}?min_position={api.last_position}")
    assert r.status_code == 200, r.text
    return r.json()


NEW_BOARD = {"board": {"members": ["dave", "erin", "fay"], "chair": "fay"}, "reason": "reorganised"}


# --- board -----------------------------------------------------------------------------


async def test_pmo_admin_changes_the_board_and_the_view_shows_it(api: Api) -> None:
    portfolio = await api.portfolio()
    r = await admin(api, f"/portfolios/{portfolio}/board", NEW_BOARD)
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    view = await portfolio_view(api, portfolio)
    assert view["board"] == {"members": ["dave", "erin", "fay"], "chair": "fay"}
    # the new chair decides, the old one no longer sees the portfolio
    r = await read_as(api, f"/portfolios/{portfolio}", "fay")
    assert r.status_code == 200, r.text
    assert (await read_as(api, f"/portfolios/{portfolio}", "carol")).status_code == 404


async def test_new_chair_decides_an_open_review(api: Api) -> None:
    project = await api.project()
    portfolio = (await api.state(project))["portfolio_id"]
    await api.review(project)
    r = await admin(api, f"/portfolios/{portfolio}/board", NEW_BOARD)
    assert r.status_code == 200, r.text
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter)).status_code == 200
    body = {"decision": "GO", "rationale": "the new board agrees"}
    r = await api.post(f"/projects/{project}/gates/G0/decision", "fay", body)
    assert r.status_code == 200, r.text
    assert (await api.state(project))["stage"] == "Initiation"


async def test_only_pmo_admin_changes_a_board(api: Api) -> None:
    portfolio = await api.portfolio()
    path = f"/portfolios/{portfolio}/board"
    await refused(api, path, NEW_BOARD, 403, "carol")  # the chair herself
    await refused(api, path, NEW_BOARD, 403, "audrey", "auditor")
    await refused(api, path, NEW_BOARD, 401, "")


async def test_a_board_too_small_for_the_quorum_is_refused(api: Api) -> None:
    portfolio = await api.portfolio()
    small = {"board": {"members": ["carol"], "chair": "carol"}, "reason": "cut"}
    problem = await refused(api, f"/portfolios/{portfolio}/board", small, 422, "admin", "pmo_admin")
    assert "board.members" in problem["detail"] and "quorum" in problem["detail"]
    assert (await portfolio_view(api, portfolio))["board"] == BOARD


async def test_a_board_seating_its_configurer_or_unchanged_is_refused(api: Api) -> None:
    portfolio = await api.portfolio()
    path = f"/portfolios/{portfolio}/board"
    seated = {"board": {"members": ["carol", "admin"], "chair": "carol"}, "reason": "me"}
    assert "board" in (await refused(api, path, seated, 422, "admin", "pmo_admin"))["detail"]
    await refused(api, path, {"board": BOARD, "reason": "same"}, 409, "admin", "pmo_admin")
    empty = {"board": {"members": [], "chair": "x"}, "reason": "none"}
    await refused(api, path, empty, 422, "admin", "pmo_admin")


async def test_a_template_whose_quorum_exceeds_its_board_is_refused_at_creation(
    api: Api,
) -> None:
    gate = {"name": "G0", "opens_stage": "Initiation", "quorum": 4}
    template = {"name": "Strict", "version": 1, "gates": [gate]}
    before = await head(api)
    r = await api.post("/portfolios", "admin", {**_portfolio(), "template": template}, "pmo_admin")
    assert r.status_code == 422, r.text
    assert "template.gates[0].quorum" in r.json()["detail"]
    assert await head(api) == before
    # a mandatory voter from outside the board counts: 3 members + the sponsor reach 4
    gate["mandatory_voters"] = ["sponsor"]
    r = await api.post("/portfolios", "admin", {**_portfolio(), "template": template}, "pmo_admin")
    assert r.status_code == 201, r.text


def _portfolio() -> dict[str, Any]:
    from tests.api.scenario import PORTFOLIO

    return dict(PORTFOLIO)


# --- envelope --------------------------------------------------------------------------


async def test_pmo_admin_changes_the_envelope_with_a_reason(api: Api) -> None:
    portfolio = await api.portfolio()
    body = {"envelope": {"amount": "1500000.00", "currency": "EUR"}, "reason": "second wave"}
    r = await admin(api, f"/portfolios/{portfolio}/envelope", body)
    assert r.status_code == 200, r.text
    view = await portfolio_view(api, portfolio)
    assert view["budget"]["envelope"] == {"amount": "1500000.00", "currency": "EUR"}
    r = await api.get(
        f"/audit/events?type=Portfolio.EnvelopeChanged&min_position={api.last_position}"
    )
    assert r.status_code == 200, r.text
    assert any("second wave" in e["summary"] for e in r.json()["items"])


async def test_envelope_refusals_write_nothing(api: Api) -> None:
    portfolio = await api.portfolio()
    path = f"/portfolios/{portfolio}/envelope"
    good = {"envelope": {"amount": "5.00", "currency": "EUR"}, "reason": "cut"}
    await refused(api, path, good, 403, "carol")
    usd = {"envelope": {"amount": "5.00", "currency": "USD"}, "reason": "cut"}
    assert "currency" in (await refused(api, path, usd, 422, "admin", "pmo_admin"))["detail"]
    negative = {"envelope": {"amount": "-5.00", "currency": "EUR"}, "reason": "cut"}
    await refused(api, path, negative, 422, "admin", "pmo_admin")
    await refused(api, path, {"envelope": good["envelope"]}, 422, "admin", "pmo_admin")
    same = {"envelope": {"amount": "1000000.00", "currency": "EUR"}, "reason": "same"}
    await refused(api, path, same, 409, "admin", "pmo_admin")


# --- project roles ---------------------------------------------------------------------


async def test_a_stakeholder_assigned_sees_the_project_and_loses_it_when_revoked(
    api: Api,
) -> None:
    project = await api.project()
    assert (await read_as(api, f"/projects/{project}", "stan")).status_code == 404
    body = {"action": "assign", "role": "stakeholder", "person": "stan", "reason": "r"}
    r = await admin(api, f"/projects/{project}/roles", body)
    assert r.status_code == 200, r.text
    assert (await api.state(project))["stakeholders"] == ["stan"]
    r = await read_as(api, f"/projects/{project}?min_position={api.last_position}", "stan")
    assert r.status_code == 200, r.text
    r = await admin(api, f"/projects/{project}/roles", {**body, "action": "revoke"})
    assert r.status_code == 200, r.text
    assert (await api.state(project))["stakeholders"] == []
    r = await read_as(api, f"/projects/{project}?min_position={api.last_position}", "stan")
    assert r.status_code == 404


async def test_a_new_pm_replaces_the_old_one(api: Api) -> None:
    project = await api.project()
    r = await admin(
        api,
        f"/projects/{project}/roles",
        {"action": "assign", "role": "pm", "person": "pete", "reason": "r"},
    )
    assert r.status_code == 200, r.text
    assert (await api.state(project))["pm"] == "pete"
    r = await api.post(
        f"/projects/{project}/gates/G0/review", "paula", {"evidence": [{"title": "Mandate"}]}
    )
    assert r.status_code in (403, 404), r.text
    await api.review(project, pm="pete")


async def test_role_refusals_write_nothing(api: Api) -> None:
    project = await api.project()
    path = f"/projects/{project}/roles"
    await refused(
        api,
        path,
        {"action": "assign", "role": "stakeholder", "person": "x", "reason": "r"},
        403,
        "paula",
    )
    # the PM is never the sponsor too; a PM is replaced, not revoked
    await refused(
        api,
        path,
        {"action": "assign", "role": "sponsor", "person": "paula", "reason": "r"},
        409,
        "admin",
        "pmo_admin",
    )
    await refused(
        api,
        path,
        {"action": "revoke", "role": "pm", "person": "paula", "reason": "r"},
        409,
        "admin",
        "pmo_admin",
    )
    await refused(
        api,
        path,
        {"action": "revoke", "role": "stakeholder", "person": "nobody", "reason": "r"},
        409,
        "admin",
        "pmo_admin",
    )
    await refused(
        api,
        path,
        {"action": "assign", "role": "chair", "person": "x", "reason": "r"},
        422,
        "admin",
        "pmo_admin",
    )
    # every administrative act says why: no reason, or a blank one, is refused
    for reason in (None, "", "   ", "\u200b"):
        body: dict[str, Any] = {"action": "assign", "role": "stakeholder", "person": "stan"}
        if reason is not None:
            body["reason"] = reason
        problem = await refused(api, path, body, 422, "admin", "pmo_admin")
        assert "reason" in str(problem), problem


async def test_board_and_role_changes_carry_their_reason_into_the_audit_trail(api: Api) -> None:
    project = await api.project()
    portfolio = (await api.state(project))["portfolio_id"]
    assert (await admin(api, f"/portfolios/{portfolio}/board", NEW_BOARD)).status_code == 200
    body = {"action": "assign", "role": "pm", "person": "pete", "reason": "paula moved to Ops"}
    assert (await admin(api, f"/projects/{project}/roles", body)).status_code == 200
    r = await api.get(f"/audit/events?min_position={api.last_position}&limit=200")
    assert r.status_code == 200, r.text
    lines = {e["type"]: e for e in r.json()["items"]}
    assert lines["Portfolio.BoardChanged"]["rationale"] == "reorganised"
    assert lines["Project.RoleAssigned"]["rationale"] == "paula moved to Ops"
    assert "pete" in lines["Project.RoleAssigned"]["summary"]
    no_reason = {"board": {"members": ["gus", "hal", "ivy"], "chair": "gus"}}
    problem = await refused(
        api, f"/portfolios/{portfolio}/board", no_reason, 422, "admin", "pmo_admin"
    )
    assert "reason" in str(problem)


async def test_an_open_review_recounts_its_quorum_against_the_new_board(api: Api) -> None:
    """Approvals by members who leave the board stop counting; the new members' count."""
    project = await api.project()
    portfolio = (await api.state(project))["portfolio_id"]
    await api.review(project)
    for voter in ("dave", "erin"):  # the old board reaches the quorum of 2
        assert (await api.vote(project, voter)).status_code == 200
    new_board = {"board": {"members": ["fay", "gus", "hal"], "chair": "fay"}, "reason": "r"}
    assert (await admin(api, f"/portfolios/{portfolio}/board", new_board)).status_code == 200
    go = {"decision": "GO", "rationale": "the old approvals suffice?"}
    path = f"/projects/{project}/gates/G0/decision"
    before = await head(api)
    r = await api.post(path, "fay", go)
    assert r.status_code == 409, r.text
    assert "quorum needs 2 approvals, has 0" in r.json()["detail"]
    assert await head(api) == before
    assert (await api.vote(project, "gus")).status_code == 200
    r = await api.post(path, "fay", go)
    assert r.status_code == 409 and "has 1" in r.json()["detail"], r.text
    assert (await api.vote(project, "hal")).status_code == 200
    r = await api.post(path, "fay", {"decision": "GO", "rationale": "the new board agrees"})
    assert r.status_code == 200, r.text
    assert (await api.state(project))["stage"] == "Initiation"


# --- hold, resume, re-baseline ---------------------------------------------------------


async def test_pmo_admin_holds_and_resumes_a_project(api: Api) -> None:
    project = await api.project()
    r = await admin(api, f"/projects/{project}/hold", {"reason": "funding review"})
    assert r.status_code == 200, r.text
    assert (await api.state(project))["status"] == "on_hold"
    await refused(api, f"/projects/{project}/hold", {"reason": "again"}, 409, "admin", "pmo_admin")
    r = await admin(api, f"/projects/{project}/resume", {"reason": "funded"})
    assert r.status_code == 200, r.text
    assert (await api.state(project))["status"] == "proposed"  # no gate passed yet
    await refused(api, f"/projects/{project}/resume", {"reason": "x"}, 409, "admin", "pmo_admin")


async def test_a_project_held_by_its_gate_resumes_by_the_pmo(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    assert (await api.decide(project, "HOLD")).status_code == 200
    assert (await api.state(project))["status"] == "on_hold"
    r = await admin(api, f"/projects/{project}/resume", {"reason": "the market settled"})
    assert r.status_code == 200, r.text
    assert (await api.state(project))["status"] == "proposed"


async def test_hold_and_resume_refusals_write_nothing(api: Api) -> None:
    project = await api.project()
    await refused(api, f"/projects/{project}/hold", {"reason": "x"}, 403, "sam")
    await refused(api, f"/projects/{project}/hold", {}, 422, "admin", "pmo_admin")
    await refused(api, f"/projects/{project}/hold", {"reason": ""}, 422, "admin", "pmo_admin")
    await refused(api, f"/projects/{project}/resume", {"reason": "x"}, 403, "paula")


REBASELINE: dict[str, Any] = {
    "baseline": {
        "budget": {"amount": "300000.00", "currency": "EUR"},
        "start": "2027-01-01",
        "end": "2028-03-31",
        "scope": "Replace the CRM and the billing",
    },
    "reason": "the board widened the scope",
}


async def test_pmo_admin_rebaselines_outside_a_change_request(api: Api) -> None:
    project = await api.project()
    r = await admin(api, f"/projects/{project}/rebaseline", REBASELINE)
    assert r.status_code == 200, r.text
    state = await api.state(project)
    assert state["budget"] == {"amount": "300000.00", "currency": "EUR"}
    history = (await api.get(f"/projects/{project}/history")).json()["items"]
    assert history[-1]["type"] == "Project.Rebaselined"
    assert history[-1]["data"]["reason"] == "the board widened the scope"


async def test_rebaseline_refusals_write_nothing(api: Api) -> None:
    project = await api.project()
    path = f"/projects/{project}/rebaseline"
    await refused(api, path, REBASELINE, 403, "sam")
    usd = {
        **REBASELINE,
        "baseline": {**REBASELINE["baseline"], "budget": {"amount": "1.00", "currency": "USD"}},
    }
    await refused(api, path, usd, 422, "admin", "pmo_admin")
    backwards = {**REBASELINE, "baseline": {**REBASELINE["baseline"], "end": "2026-01-01"}}
    await refused(api, path, backwards, 422, "admin", "pmo_admin")
    await refused(api, path, {"baseline": REBASELINE["baseline"]}, 422, "admin", "pmo_admin")


# --- delegations given and received ----------------------------------------------------


async def test_delegators_and_delegates_list_their_delegations_a_page_at_a_time(
    api: Api,
) -> None:
    from datetime import UTC, datetime, timedelta

    ends = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    ids = []
    for delegate in ("dan", "dora", "dan"):
        r = await api.post("/delegations", "dave", {"delegate": delegate, "ends": ends})
        assert r.status_code == 201, r.text
        ids.append(r.json()["details"]["delegation_id"])
    r = await api.client.delete(f"/delegations/{ids[2]}", headers=api.auth("dave"))
    assert r.status_code == 200, r.text
    position = r.json()["position"]

    async def page(person: str, query: str) -> dict[str, Any]:
        r = await read_as(api, f"/delegations?{query}&min_position={position}", person)
        assert r.status_code == 200, r.text
        return r.json()

    first = await page("dave", "direction=given&limit=2")
    assert [d["id"] for d in first["items"]] == ids[:2] and first["next"]
    rest = await page("dave", f"direction=given&limit=2&after={first['next']}")
    assert [d["id"] for d in rest["items"]] == ids[2:] and rest["next"] is None
    assert rest["items"][0]["status"] == "revoked"
    received = await page("dan", "direction=received")
    assert [(d["id"], d["delegator"], d["status"]) for d in received["items"]] == [
        (ids[0], "dave", "active"),
        (ids[2], "dave", "revoked"),
    ]
    assert (await page("dan", "direction=given"))["items"] == []  # nobody else's
    assert (await page("nina", "direction=received"))["items"] == []
    r = await read_as(api, "/delegations?direction=sideways", "dave")
    assert r.status_code == 422, r.text  # a value the parameter does not take
    assert "direction" in r.text
