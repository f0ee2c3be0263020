"""An audit trail that explains itself (issue 12): the why of each act, what it acted
on, acts done for a person, filters by on_behalf_of and portfolio."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api
from tests.api.test_change_requests import raise_cr


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def trail(api: Api, query: str) -> list[dict[str, Any]]:
    r = await api.get(f"/audit/events?min_position={api.last_position}&limit=500&{query}")
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def conditional_go_with_a_delegated_vote(api: Api, portfolio: str) -> tuple[str, str]:
    project = await api.project(portfolio)
    await api.review(project)
    ends = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    assert (await api.post("/delegations", "erin", {"delegate": "frank", "ends": ends})).is_success
    r = await api.post(
        f"/projects/{project}/gates/G0/votes",
        "frank",
        {"vote": "approve", "rationale": "for erin: sound mandate", "on_behalf_of": "erin"},
    )
    assert r.status_code == 200, r.text
    await api.vote(project, "dave")
    r = await api.decide(
        project,
        "CONDITIONAL_GO",
        conditions=[{"description": "Do the DPIA", "owner": "olga", "due": "2027-02-01"}],
    )
    assert r.status_code == 200, r.text
    (condition,) = r.json()["details"]["condition_ids"]
    r = await api.post(
        f"/projects/{project}/conditions/{condition}/close", "olga", {"note": "DPIA filed"}
    )
    assert r.status_code == 200, r.text
    return project, condition


async def test_lines_carry_the_why_and_name_what_they_acted_on(api: Api) -> None:
    portfolio = await api.portfolio()
    project, _ = await conditional_go_with_a_delegated_vote(api, portfolio)
    cr = await raise_cr(api, project, "1000.00", 0)
    r = await api.post(
        f"/change-requests/{cr}/decision", "sam", {"decision": "reject", "rationale": "not now"}
    )
    assert r.status_code == 200, r.text
    body = {"deliverable": "Plan", "version": "2", "content_hash": "sha256:1"}
    r = await api.post(f"/projects/{project}/signoffs", "paula", {**body, "signatories": ["sam"]})
    assert r.status_code == 201, r.text
    signoff = r.json()["id"]
    r = await api.post(f"/signoffs/{signoff}/sign", "sam", {"comment": "reads well"})
    assert r.status_code == 200, r.text
    lines = {(e["summary"], e["rationale"]) for e in await trail(api, f"project_id={project}")}
    for expected in (
        ("frank for erin voted approve on G0", "for erin: sound mandate"),
        ("dave voted approve on G0", "dave says approve"),
        ("carol decided CONDITIONAL_GO at G0", "board decided"),
        ("olga closed condition 'Do the DPIA'", "DPIA filed"),
        ("sam decided reject on change request 'More licences'", "not now"),
        ("sam signed off 'Plan' v2", "reads well"),
    ):
        assert expected in lines, (expected, sorted(lines, key=str))
    r = await api.get(f"/audit/export?format=csv&project_id={project}")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert ("sam signed off 'Plan' v2", "reads well") in {
        (x["summary"], x["rationale"]) for x in rows
    }
    r = await api.get(f"/audit/export?format=ndjson&project_id={project}")
    exported = [msgspec.json.decode(x) for x in r.content.splitlines()]
    assert "not now" in {x["rationale"] for x in exported}


async def test_filters_find_acts_for_a_person_and_a_portfolios_requests(api: Api) -> None:
    portfolio = await api.portfolio()
    other = await api.portfolio(name="Other")
    project, _ = await conditional_go_with_a_delegated_vote(api, portfolio)
    elsewhere, _ = await conditional_go_with_a_delegated_vote(api, other)
    cr = await raise_cr(api, project, "1000.00", 0)
    by_erin = await trail(api, f"actor=erin&project_id={project}")
    # erin's own delegation is not in a project; frank's vote for her is.
    assert [(e["actor"], e["on_behalf_of"], e["type"]) for e in by_erin] == [
        ("frank", "erin", "Project.VoteCast")
    ]
    for_erin = await trail(api, "on_behalf_of=erin")
    assert {(e["actor"], e["project_id"]) for e in for_erin} == {
        ("frank", project),
        ("frank", elsewhere),
    }
    mine = await trail(api, f"portfolio_id={portfolio}")
    assert {e["portfolio_id"] for e in mine} == {portfolio}
    assert {e["project_id"] for e in mine} == {None, project}
    assert {"ChangeRequest.Created", "ChangeRequest.Submitted"} <= {e["type"] for e in mine}
    assert cr in {e["aggregate_id"] for e in mine}
    r = await api.get(f"/audit/export?format=ndjson&portfolio_id={other}&on_behalf_of=erin")
    assert [msgspec.json.decode(x)["project_id"] for x in r.content.splitlines()] == [elsewhere]
    ledger = await api.get(f"/audit/export?format=ledger&portfolio_id={other}")
    assert ledger.status_code == 422


async def test_change_requests_signoffs_and_portfolios_have_a_paged_history(api: Api) -> None:
    portfolio = await api.portfolio()
    project = await api.project(portfolio)
    cr = await raise_cr(api, project, "1000.00", 0)
    r = await api.post(f"/change-requests/{cr}/withdraw", "paula", {"reason": "no longer"})
    assert r.status_code == 200, r.text
    body = {"deliverable": "Plan", "version": "2", "content_hash": "sha256:1"}
    r = await api.post(f"/projects/{project}/signoffs", "paula", {**body, "signatories": ["sam"]})
    signoff = r.json()["id"]
    assert (await api.post(f"/signoffs/{signoff}/decline", "sam", {"comment": "thin"})).is_success
    for path, types in (
        (
            f"/change-requests/{cr}",
            ["ChangeRequest.Created", "ChangeRequest.Submitted", "ChangeRequest.Withdrawn"],
        ),
        (f"/signoffs/{signoff}", ["SignOff.Requested", "SignOff.Declined"]),
        (f"/portfolios/{portfolio}", ["Portfolio.Created"]),
    ):
        first = (await api.get(f"{path}/history?limit=1")).json()
        items = first["items"]
        if first["next"] is not None:
            rest = (await api.get(f"{path}/history?after={first['next']}")).json()
            assert rest["next"] is None
            items += rest["items"]
        assert [i["type"] for i in items] == types, path
    withdrawn = (await api.get(f"/change-requests/{cr}/history")).json()["items"][-1]
    assert (withdrawn["actor"], withdrawn["data"]["reason"]) == ("paula", "no longer")
    outsider = await api.client.get(f"/signoffs/{signoff}/history", headers=api.auth("mallory"))
    assert outsider.status_code == 404


async def test_a_csv_export_opens_a_formula_as_text_and_ndjson_keeps_it(api: Api) -> None:
    """CSV injection: a rationale a spreadsheet would run (=HYPERLINK(...)) is exported
    with a leading apostrophe in CSV; NDJSON keeps it exactly; numbers keep their sign."""
    project = await api.project()
    await api.review(project)
    formula = '=HYPERLINK("http://evil.example","click")'
    r = await api.post(
        f"/projects/{project}/gates/G0/votes", "dave", {"vote": "approve", "rationale": formula}
    )
    assert r.status_code == 200, r.text
    r = await api.post(
        f"/projects/{project}/gates/G0/votes", "erin", {"vote": "approve", "rationale": "-5 days"}
    )
    assert r.status_code == 200, r.text
    await trail(api, f"project_id={project}")  # the trail holds them
    r = await api.get(f"/audit/export?format=csv&project_id={project}")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    rationales = {x["actor"]: x["rationale"] for x in rows if x["type"] == "Project.VoteCast"}
    assert rationales == {"dave": "'" + formula, "erin": "'-5 days"}
    assert all(not x["position"].startswith("'") for x in rows)
    r = await api.get(f"/audit/export?format=ndjson&project_id={project}")
    exported = [msgspec.json.decode(x) for x in r.content.splitlines()]
    assert formula in {x["rationale"] for x in exported}
