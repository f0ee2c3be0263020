"""Governance templates as a resource (issue 12): the library (create, list, read,
publish a version), a portfolio created with a template by reference or switched to
another for its new projects, a project migrated to another version. Each act is
pmo_admin's, carries a reason, and a refusal writes nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import PORTFOLIO, Api, project_body


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


def gate(name: str, stage: str, quorum: int = 2, **extra: Any) -> dict[str, Any]:
    return {"name": name, "opens_stage": stage, "quorum": quorum, **extra}


GATES = [
    gate("G0", "Initiation"),
    gate("G1", "Planning", mandatory_voters=["sponsor"]),
    gate("G2", "Closed"),
]
LEAN = {"name": "Lean", "gates": GATES, "reason": "Three gates for small projects"}
# v2: G0 and G1 need one approval only, and votes are due in 5 days
LIGHTER = {
    "gates": [gate("G0", "Initiation", 1, vote_due_days=5), gate("G1", "Planning", 1), GATES[2]],
    "reason": "Small boards approve alone",
}


async def head(api: Api) -> int:
    r = await api.client.get("/health")
    return r.json()["position"] or 0


async def admin(api: Api, path: str, body: Any) -> Any:
    return await api.post(path, "admin", body, "pmo_admin")


async def refused(api: Api, path: str, body: Any, status: int, *who: str) -> dict[str, Any]:
    """``who`` (the person, then roles) is answered ``status`` and the log does not move."""
    before = await head(api)
    r = await api.post(
        path, who[0] if who else "admin", body, *(who[1:] if who else ("pmo_admin",))
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await head(api) == before
    return r.json()


async def read(api: Api, path: str, person: str = "nina") -> Any:
    """A read by someone holding no role at all, once the read models caught up."""
    sep = "&" if "?" in path else "?"
    return await api.client.get(
        f"{path}{sep}min_position={api.last_position}", headers=api.auth(person)
    )


async def lean(api: Api, *versions: dict[str, Any]) -> None:
    r = await admin(api, "/templates", LEAN)
    assert r.status_code == 201, r.text
    for body in versions:
        r = await admin(api, "/templates/Lean/versions", body)
        assert r.status_code == 201, r.text


async def audit(api: Api, **query: str) -> list[dict[str, Any]]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    r = await api.get(f"/audit/events?min_position={api.last_position}&limit=500&{params}")
    assert r.status_code == 200, r.text
    return r.json()["items"]


# --- the library ---------------------------------------------------------------------


async def test_a_template_is_created_listed_and_read_by_anyone_signed_in(api: Api) -> None:
    await lean(api)
    r = await read(api, "/templates")
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["name"] == "Lean" and item["latest_version"] == 1
    assert item["gates"] == ["G0", "G1", "G2"]
    assert item["published_by"] == {"person": "admin", "on_behalf_of": None}
    assert item["created_by"]["person"] == "admin" and item["reason"] == LEAN["reason"]
    r = await read(api, "/templates/Lean")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["latest_version"] == 1 and [v["version"] for v in body["versions"]] == [1]
    v1 = body["versions"][0]
    assert [g["quorum"] for g in v1["gates"]] == [2, 2, 2]
    assert v1["gates"][1]["mandatory"] == ["sponsor"]
    assert v1["change_policy"] == {
        "quorum": 2,
        "mandatory": ["sponsor"],
        "chair_must_confirm": True,
    }
    r = await read(api, "/templates/Lean/versions/1")
    assert r.status_code == 200 and r.json() == v1
    [line] = [e for e in await audit(api) if e["type"] == "Template.Created"]
    assert line["summary"] == "admin created template 'Lean' v1"
    assert line["rationale"] == LEAN["reason"]


async def test_a_new_version_is_the_next_and_the_earlier_one_stays_as_it_was(api: Api) -> None:
    await lean(api)
    v1 = (await read(api, "/templates/Lean/versions/1")).json()
    r = await admin(api, "/templates/Lean/versions", LIGHTER)
    assert r.status_code == 201, r.text
    assert (await read(api, "/templates/Lean/versions/1")).json() == v1
    v2 = (await read(api, "/templates/Lean/versions/2")).json()
    assert [g["quorum"] for g in v2["gates"]] == [1, 1, 2] and v2["gates"][0]["vote_due_days"] == 5
    [item] = (await read(api, "/templates")).json()["items"]
    assert item["latest_version"] == 2 and item["reason"] == LIGHTER["reason"]
    assert [v["version"] for v in (await read(api, "/templates/Lean")).json()["versions"]] == [1, 2]
    lines = [e["summary"] for e in await audit(api) if e["type"].startswith("Template.")]
    assert lines == ["admin created template 'Lean' v1", "admin published template 'Lean' v2"]


async def test_the_list_pages_in_the_order_created(api: Api) -> None:
    for name in ("Zeta", "Alpha", "Mid"):
        assert (await admin(api, "/templates", {**LEAN, "name": name})).status_code == 201
    r = await read(api, "/templates?limit=2")
    page = r.json()
    assert [i["name"] for i in page["items"]] == ["Zeta", "Alpha"] and page["next"]
    r = await read(api, f"/templates?limit=2&after={page['next']}")
    assert [i["name"] for i in r.json()["items"]] == ["Mid"] and r.json()["next"] is None


async def test_only_the_pmo_creates_and_publishes(api: Api) -> None:
    await refused(api, "/templates", LEAN, 403, "paula")
    await refused(api, "/templates", LEAN, 403, "audrey", "auditor")
    await lean(api)
    await refused(api, "/templates/Lean/versions", LIGHTER, 403, "carol")
    assert (await read(api, "/templates/Lean")).json()["latest_version"] == 1
    assert (await api.client.get("/templates")).status_code == 401


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({**LEAN, "gates": [GATES[0], GATES[0]]}, "gate names must be unique"),
        ({**LEAN, "gates": [gate("G0", "Initiation", mandatory_voters=["pm"])]}, "the PM never"),
        ({**LEAN, "gates": []}, "gates"),
        ({**LEAN, "gates": [gate("G0", "Initiation", 0)]}, "quorum"),
        ({**LEAN, "reason": ""}, "reason"),
        ({**LEAN, "name": "a/b"}, "name"),
        ({**LEAN, "name": ""}, "name"),
        ({**LEAN, "version": 3}, "version"),
        ({**LEAN, "change_policy": {"quorum": 0}}, "quorum"),
    ],
)
async def test_a_bad_template_is_422_naming_what_is_wrong(
    api: Api, body: dict[str, Any], says: str
) -> None:
    problem = await refused(api, "/templates", body, 422)
    assert says in str(problem).lower() or says in str(problem), problem
    assert (await read(api, "/templates")).json()["items"] == []


async def test_a_taken_name_an_unknown_template_and_an_unchanged_version_are_refused(
    api: Api,
) -> None:
    await lean(api)
    problem = await refused(api, "/templates", LEAN, 409)
    assert "publish a new version" in problem["detail"]
    problem = await refused(api, "/templates/Nope/versions", LIGHTER, 404)
    assert problem["detail"] == "the library has no template named 'Nope'"
    problem = await refused(api, "/templates/Lean/versions", {"gates": GATES, "reason": "x"}, 409)
    assert "already says exactly this" in problem["detail"]
    assert (await read(api, "/templates/Nope")).status_code == 404
    assert (await read(api, "/templates/Lean/versions/2")).status_code == 404
    r = await read(api, "/templates/Lean/versions/0")
    assert r.status_code == 422 and r.json()["errors"][0]["key"] == "version", r.text


# --- portfolios ------------------------------------------------------------------------


async def new_portfolio(api: Api, **overrides: Any) -> str:
    r = await admin(api, "/portfolios", {**PORTFOLIO, **overrides})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def new_project(api: Api, portfolio: str, name: str) -> str:
    r = await admin(api, "/projects", project_body(portfolio, name=name))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def project_state(api: Api, project: str) -> dict[str, Any]:
    r = await api.get(f"/projects/{project}?min_position={api.last_position}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_portfolio_created_by_reference_gives_its_projects_that_version(
    api: Api,
) -> None:
    await lean(api, LIGHTER)
    portfolio = await new_portfolio(api, template_ref={"name": "Lean", "version": 1})
    r = await api.get(f"/portfolios/{portfolio}?min_position={api.last_position}")
    assert r.json()["template"] == "Lean v1"
    project = await project_state(api, await new_project(api, portfolio, "Small"))
    assert project["template"] == {"name": "Lean", "version": 1}
    assert [g["name"] for g in project["gates"]] == ["G0", "G1", "G2"]
    assert [g["quorum"] for g in project["gates"]] == [2, 2, 2]


async def test_a_reference_to_nothing_or_to_both_is_refused(api: Api) -> None:
    await lean(api)
    body = {**PORTFOLIO, "template_ref": {"name": "Lean", "version": 2}}
    assert "no version 2" in (await refused(api, "/portfolios", body, 404))["detail"]
    body = {**PORTFOLIO, "template_ref": {"name": "Nope", "version": 1}}
    problem = await refused(api, "/portfolios", body, 404)
    assert problem["detail"] == "the library has no template named 'Nope'"  # not its id
    inline = {"name": "Mine", "version": 1, "gates": GATES}
    body = {**PORTFOLIO, "template": inline, "template_ref": {"name": "Lean", "version": 1}}
    assert "not both" in (await refused(api, "/portfolios", body, 422))["detail"]
    # A board of two cannot reach a quorum of three.
    await admin(
        api, "/templates/Lean/versions", {"gates": [gate("G0", "Closed", 3)], "reason": "r"}
    )
    board = {"members": ["carol", "dave"], "chair": "carol"}
    body = {**PORTFOLIO, "board": board, "template_ref": {"name": "Lean", "version": 2}}
    problem = await refused(api, "/portfolios", body, 422)
    assert "can never be met" in problem["detail"]


async def test_the_pmo_switches_the_template_for_new_projects_only(api: Api) -> None:
    await lean(api, LIGHTER)
    portfolio = await new_portfolio(api, template_ref={"name": "Lean", "version": 1})
    before = await new_project(api, portfolio, "Before")
    switch = {"name": "Lean", "version": 2, "reason": "Lighter from now on"}
    r = await admin(api, f"/portfolios/{portfolio}/template", switch)
    assert r.status_code == 200, r.text
    after = await new_project(api, portfolio, "After")
    assert (await project_state(api, before))["template"] == {"name": "Lean", "version": 1}
    assert (await project_state(api, after))["template"] == {"name": "Lean", "version": 2}
    view = (await api.get(f"/portfolios/{portfolio}?min_position={api.last_position}")).json()
    assert view["template"] == "Lean v2"
    [line] = [e for e in await audit(api) if e["type"] == "Portfolio.TemplateChanged"]
    assert line["summary"] == "admin switched new projects from template 'Lean' v1 to 'Lean' v2"
    assert line["rationale"] == "Lighter from now on" and line["portfolio_id"] == portfolio


async def test_a_switch_is_refused_for_others_unknown_versions_and_unreachable_quorums(
    api: Api,
) -> None:
    await lean(api)
    portfolio = await new_portfolio(api)
    path = f"/portfolios/{portfolio}/template"
    use = {"name": "Lean", "version": 1, "reason": "r"}
    await refused(api, path, use, 403, "carol")
    await refused(api, path, {**use, "version": 5}, 404)
    await refused(api, path, {**use, "name": "Nope"}, 404)
    await refused(api, path, {**use, "reason": ""}, 422)
    big = {"gates": [gate("G0", "Closed", 4)], "reason": "a big board"}
    assert (await admin(api, "/templates/Lean/versions", big)).status_code == 201
    problem = await refused(api, path, {**use, "version": 2}, 422)
    assert "quorum of 4" in problem["detail"]
    assert (await admin(api, path, use)).status_code == 200
    await refused(api, path, use, 409)  # already follows it
    unknown = "00000000-0000-0000-0000-000000000001"
    await refused(api, f"/portfolios/{unknown}/template", use, 404)


# --- projects ---------------------------------------------------------------------------


async def test_a_migrated_project_follows_the_new_version_end_to_end(api: Api) -> None:
    await lean(api, LIGHTER)
    portfolio = await new_portfolio(api, template_ref={"name": "Lean", "version": 1})
    kept = await new_project(api, portfolio, "Kept")
    moved = await new_project(api, portfolio, "Moved")
    use = {"name": "Lean", "version": 2, "reason": "Smaller quorum suits it"}
    r = await admin(api, f"/projects/{moved}/template", use)
    assert r.status_code == 200, r.text
    state = await project_state(api, moved)
    assert state["template"] == {"name": "Lean", "version": 2}
    assert [g["quorum"] for g in state["gates"]] == [1, 1, 2] and state["stage"] == "Proposal"
    # One approval passes G0 of the migrated project; the kept one still needs two.
    for project in (kept, moved):
        await api.review(project)
        assert (await api.vote(project, "dave")).status_code == 200
    r = await api.decide(kept)
    assert r.status_code == 409 and "quorum" in r.text
    r = await api.decide(moved)
    assert r.status_code == 200, r.text
    assert (await project_state(api, moved))["stage"] == "Initiation"
    review = (await project_state(api, kept))["review"]
    assert review["gate"] == "G0"
    [line] = [e for e in await audit(api) if e["type"] == "Project.TemplateMigrated"]
    assert line["summary"] == "admin migrated the project from template 'Lean' v1 to 'Lean' v2"
    assert line["rationale"] == "Smaller quorum suits it" and line["project_id"] == moved
    r = await api.get(f"/projects/{moved}/history")
    migrated = [e for e in r.json()["items"] if e["type"] == "Project.TemplateMigrated"]
    assert migrated and migrated[0]["data"]["previous_version"] == 1


async def test_a_migration_that_cannot_map_is_refused_and_writes_nothing(api: Api) -> None:
    await lean(api)
    portfolio = await new_portfolio(api, template_ref={"name": "Lean", "version": 1})
    project = await new_project(api, portfolio, "P")
    path = f"/projects/{project}/template"
    # G0 passed under v1.
    await api.review(project)
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter)).status_code == 200
    assert (await api.decide(project)).status_code == 200
    one_gate = {"gates": [gate("G0", "Initiation")], "reason": "one gate"}
    assert (await admin(api, "/templates/Lean/versions", one_gate)).status_code == 201
    problem = await refused(api, path, {"name": "Lean", "version": 2, "reason": "r"}, 409)
    assert "no next gate" in problem["detail"]
    renamed = {"gates": [gate("Start", "Initiation"), *GATES[1:]], "reason": "renamed"}
    assert (await admin(api, "/templates/Lean/versions", renamed)).status_code == 201
    problem = await refused(api, path, {"name": "Lean", "version": 3, "reason": "r"}, 409)
    assert "cannot be mapped" in problem["detail"]
    big = {"gates": [GATES[0], gate("G1", "Planning", 5), GATES[2]], "reason": "big"}
    assert (await admin(api, "/templates/Lean/versions", big)).status_code == 201
    problem = await refused(api, path, {"name": "Lean", "version": 4, "reason": "r"}, 422)
    assert "can never be met" in problem["detail"]
    fine = {"gates": [GATES[0], gate("G1", "Planning", 1), GATES[2]], "reason": "fine"}
    assert (await admin(api, "/templates/Lean/versions", fine)).status_code == 201
    use = {"name": "Lean", "version": 5, "reason": "r"}
    await api.review(project, "G1")
    problem = await refused(api, path, use, 409)
    assert "review of gate G1 is open" in problem["detail"]
    await refused(api, path, use, 403, "carol")
    await refused(api, path, {**use, "version": 9}, 404)
    await refused(api, f"/projects/{portfolio}/template", use, 404)  # not a project
    assert (await project_state(api, project))["template"] == {"name": "Lean", "version": 1}


async def test_an_inline_template_still_works_and_names_itself(api: Api) -> None:
    inline = {"name": "Mine", "version": 3, "gates": GATES}
    portfolio = await new_portfolio(api, template=copy.deepcopy(inline))
    project = await project_state(api, await new_project(api, portfolio, "P"))
    assert project["template"] == {"name": "Mine", "version": 3}


async def test_a_board_change_is_checked_against_every_live_projects_own_version(
    api: Api,
) -> None:
    """A project keeps its version when the portfolio switches: a board too small for
    that version's quorum is refused (naming the project) until the project is migrated
    or ends."""
    await lean(
        api, {"gates": [gate("G0", "Initiation", 3), gate("G1", "Closed", 3)], "reason": "r"}
    )
    await admin(api, "/templates/Lean/versions", {**LIGHTER, "reason": "small again"})
    portfolio = await new_portfolio(api, template_ref={"name": "Lean", "version": 2})
    strict = await new_project(api, portfolio, "Strict")  # quorum 3 on Lean v2
    switch = {"name": "Lean", "version": 3, "reason": "Lighter from now on"}
    assert (await admin(api, f"/portfolios/{portfolio}/template", switch)).status_code == 200
    two = {"board": {"members": ["carol", "dave"], "chair": "carol"}, "reason": "smaller"}
    path = f"/portfolios/{portfolio}/board"
    problem = await refused(api, path, two, 422)
    assert "project 'Strict' follows 'Lean' v2" in problem["detail"], problem
    assert "quorum of 3" in problem["detail"]
    # once the project follows the portfolio's version, the same board is accepted
    use = {"name": "Lean", "version": 3, "reason": "as the portfolio"}
    assert (await admin(api, f"/projects/{strict}/template", use)).status_code == 200
    r = await admin(api, path, two)
    assert r.status_code == 200, r.text


async def test_an_ended_project_on_an_old_version_does_not_hold_the_board(api: Api) -> None:
    await lean(
        api, {"gates": [gate("G0", "Initiation", 3), gate("G1", "Closed", 3)], "reason": "r"}
    )
    portfolio = await new_portfolio(api, template_ref={"name": "Lean", "version": 2})
    old = await new_project(api, portfolio, "Old")
    switch = {"name": "Lean", "version": 1, "reason": "back to two"}
    assert (await admin(api, f"/portfolios/{portfolio}/template", switch)).status_code == 200
    two = {"board": {"members": ["carol", "dave"], "chair": "carol"}, "reason": "smaller"}
    await refused(api, f"/portfolios/{portfolio}/board", two, 422)
    r = await admin(api, f"/projects/{old}/cancel", {"reason": "stopped"})
    assert r.status_code == 200, r.text
    r = await admin(api, f"/portfolios/{portfolio}/board", two)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("first", "says"),
    [
        (gate("G\u200b0", "Initiation"), "U+200B"),  # looks like G0, is not G0
        (gate("G0\u202e", "Initiation"), "U+202E"),
        (gate(" G0", "Initiation"), "leading or trailing whitespace"),
        (gate("G0", "Initiation\u200d"), "U+200D"),
        (gate("G0", "Initiatio\u0301n"), "NFC"),
    ],
)
async def test_gate_and_stage_names_with_hidden_characters_are_refused(
    api: Api, first: dict[str, Any], says: str
) -> None:
    gates = [first, *GATES[1:]]
    problem = await refused(api, "/templates", {**LEAN, "gates": gates}, 422)
    assert says in problem["detail"], problem
    await lean(api)
    problem = await refused(api, "/templates/Lean/versions", {"gates": gates, "reason": "r"}, 422)
    assert says in problem["detail"], problem
    inline = {"name": "Mine", "version": 1, "gates": gates}
    problem = await refused(api, "/portfolios", {**PORTFOLIO, "template": inline}, 422)
    assert says in problem["detail"], problem
