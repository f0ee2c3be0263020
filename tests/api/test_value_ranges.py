"""Values outside the ranges every read model can hold are 422, name the field and write
nothing (the ranges are in domain/bounds.py and docs/governance.md)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import PORTFOLIO, Api, project_body


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def head(api: Api) -> int | None:
    return (await api.client.get("/health")).json()["position"]


async def assert_refused(api: Api, r: Any, before: int | None, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text
    assert await head(api) == before


def baseline(start: str, end: str) -> dict[str, Any]:
    budget = {"amount": "1000.00", "currency": "EUR"}
    return {"budget": budget, "start": start, "end": end, "scope": ""}


@pytest.mark.parametrize(
    "start, end, field",
    [
        ("2027-01-01", "9999-12-31", "baseline end"),
        ("1969-12-31", "2027-01-01", "baseline start"),
        ("0001-01-01", "2027-01-01", "baseline start"),
    ],
)
async def test_a_baseline_outside_1970_to_2999_is_422(
    api: Api, start: str, end: str, field: str
) -> None:
    portfolio = await api.portfolio()
    before = await head(api)
    body = project_body(portfolio, baseline=baseline(start, end))
    await assert_refused(
        api, await api.post("/projects", "admin", body, "pmo_admin"), before, field
    )


@pytest.mark.parametrize(
    "starts, ends, field",
    [
        ("9999-12-30T00:00:00-23:59", "9999-12-31T23:59:59-23:59", "starts"),  # past 9999
        ("2999-12-30T00:00:00-23:59", "2999-12-31T23:59:59-23:59", "ends"),  # past 2999 in UTC
    ],
)
async def test_a_delegation_ending_past_2999_in_utc_is_422(
    api: Api, starts: str, ends: str, field: str
) -> None:
    body = {"delegate": "frank", "starts": starts, "ends": ends}
    await assert_refused(api, await api.post("/delegations", "erin", body), None, field)


async def test_a_condition_due_past_2999_is_422(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter)).status_code == 200
    before = await head(api)
    condition = {"description": "DPIA", "owner": "olga", "due": "3000-01-01"}
    r = await api.decide(project, "CONDITIONAL_GO", conditions=[condition])
    await assert_refused(api, r, before, "condition due date")


async def test_approving_a_change_that_moves_the_end_past_2999_is_422(api: Api) -> None:
    portfolio = await api.portfolio()
    project = await api.project(portfolio, baseline=baseline("2990-01-01", "2999-12-20"))
    impact = {
        "title": "Later",
        "description": "Much later",
        "cost_delta": {"amount": "0", "currency": "EUR"},
        "schedule_delta_days": 20,  # within the 30 days' tolerance: the sponsor decides
    }
    r = await api.post(f"/projects/{project}/change-requests", "paula", impact)
    cr = f"/change-requests/{r.json()['id']}"
    assert (await api.post(f"{cr}/submit", "paula", {})).status_code == 200
    before = await head(api)
    r = await api.post(f"{cr}/decision", "sam", {"decision": "approve", "rationale": "ok"})
    await assert_refused(api, r, before, "baseline end")


async def test_a_template_version_beyond_a_postgresql_int_is_422(api: Api) -> None:
    template = {"name": "T", "version": 2**31, "gates": [{"name": "A", "opens_stage": "Closed"}]}
    r = await api.post("/portfolios", "admin", {**PORTFOLIO, "template": template}, "pmo_admin")
    await assert_refused(api, r, None, "version")


async def test_a_seen_position_beyond_a_postgresql_bigint_is_422(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    before = await head(api)
    r = await api.decide(project, "HOLD", seen_position=2**63)
    await assert_refused(api, r, before, "seen_position")


@pytest.mark.parametrize(
    "query",
    [
        "/audit/events?from=0001-01-01T00:00:00%2B23:59",  # before year 1 in UTC
        "/audit/events?to=9999-12-31T23:59:59-23:59",  # past year 9999 in UTC
        "/projects/{project}?as_of=9999-12-31T23:59:59-23:59",
        "/projects/{project}?as_of=99999999999999999999999",  # past a bigint
    ],
)
async def test_reads_with_times_or_positions_past_what_postgresql_holds_are_422(
    api: Api, query: str
) -> None:
    project = await api.project()
    r = await api.get(query.format(project=project), "audrey", "auditor")
    assert r.status_code == 422, r.text
