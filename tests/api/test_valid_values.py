"""Valid values only (issue 10 item 3) over HTTP: a refused value is 422 problem+json
naming the field and the rule, and writes nothing; a token for no valid person is 401;
a weak ETag never matches If-Match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient

from api.auth import mint_token
from api.settings import Settings
from tests.api.scenario import BOARD, PORTFOLIO, Api, project_body


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def head(api: Api) -> int | None:
    return (await api.client.get("/health")).json()["position"]


async def assert_refused(api: Api, r: Any, before: int | None, *named: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    for text in named:
        assert text in r.json()["detail"], r.text
    assert await head(api) == before


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


# --- currencies -------------------------------------------------------------------------


async def test_a_project_in_usd_in_an_eur_portfolio_is_422_and_writes_nothing(api: Api) -> None:
    portfolio = await api.portfolio()
    before = await head(api)
    body = project_body(portfolio)
    body["baseline"]["budget"] = money("100", "USD")
    r = await api.post("/projects", "admin", body, "pmo_admin")
    await assert_refused(api, r, before, "baseline.budget.currency", "USD", "EUR")


async def test_mixed_currencies_are_never_summed_into_the_portfolio(api: Api) -> None:
    portfolio = await api.portfolio()
    await api.project(portfolio)  # 250000 EUR
    for currency in ("USD", "JPY"):
        body = project_body(portfolio)
        body["baseline"]["budget"] = money("100", currency)
        r = await api.post("/projects", "admin", body, "pmo_admin")
        assert r.status_code == 422, r.text
    r = await api.get(f"/portfolios/{portfolio}?min_position={api.last_position}")
    assert r.status_code == 200, r.text
    assert "USD" not in r.text and "JPY" not in r.text


async def test_a_change_request_in_another_currency_is_422_and_writes_nothing(api: Api) -> None:
    project = await api.project()
    before = await head(api)
    impact = {
        "title": "Add SSO",
        "description": "Customers asked",
        "cost_delta": money("100", "JPY"),
        "schedule_delta_days": 1,
    }
    r = await api.post(f"/projects/{project}/change-requests", "paula", impact)
    await assert_refused(api, r, before, "cost_delta.currency", "JPY")


@pytest.mark.parametrize("code", ["XYZ", "HRK", "XXX"])
async def test_a_made_up_or_withdrawn_currency_is_422(api: Api, code: str) -> None:
    r = await api.post(
        "/portfolios", "admin", {**PORTFOLIO, "envelope": money("1", code)}, "pmo_admin"
    )
    await assert_refused(api, r, None, "envelope.currency", "ISO 4217")


# --- person ids -------------------------------------------------------------------------

HIDDEN = [
    "paula\u200b",  # zero width space
    "pau\u00adla",  # soft hyphen
    "\u202epaula",  # right-to-left override
    "pa\u2066ula",  # left-to-right isolate
    "paula\ufeff",  # zero width no-break space
    "paula\u3164",  # hangul filler
    "pau\x07la",  # a control character
    "jose\u0301",  # not NFC
]


@pytest.mark.parametrize("pm", HIDDEN)
async def test_a_pm_with_invisible_characters_is_422_and_writes_nothing(api: Api, pm: str) -> None:
    portfolio = await api.portfolio()
    before = await head(api)
    r = await api.post("/projects", "admin", project_body(portfolio, pm=pm), "pmo_admin")
    await assert_refused(api, r, before, "project manager")


@pytest.mark.parametrize("member", HIDDEN[:4])
async def test_a_board_member_with_invisible_characters_is_422(api: Api, member: str) -> None:
    board = {"members": [*BOARD["members"], member], "chair": "carol"}
    r = await api.post("/portfolios", "admin", {**PORTFOLIO, "board": board}, "pmo_admin")
    await assert_refused(api, r, None, "board member")


async def test_signatories_delegates_owners_and_on_behalf_of_are_checked(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter)).status_code == 200
    before = await head(api)
    body = {"deliverable": "Plan", "version": "1", "content_hash": "h", "signatories": ["s\u200b"]}
    r = await api.post(f"/projects/{project}/signoffs", "paula", body)
    await assert_refused(api, r, before, "signatory")
    body = {"delegate": "gina\u00ad", "ends": "2999-01-01T00:00:00Z"}
    await assert_refused(api, await api.post("/delegations", "dave", body), before, "delegate")
    condition = {"description": "DPIA", "owner": "olga\u202e", "due": "2027-06-01"}
    r = await api.decide(project, "CONDITIONAL_GO", conditions=[condition])
    await assert_refused(api, r, before, "condition owner")
    r = await api.decide(project, "HOLD", on_behalf_of="carol\ufeff")
    await assert_refused(api, r, before, "on_behalf_of")


@pytest.mark.parametrize("sub", ["paula\u200b", "\u202epaula", " paula", "p" * 101])
async def test_a_token_whose_sub_is_no_valid_person_id_is_401(api: Api, sub: str) -> None:
    token = mint_token(api.settings, sub, ["pmo_admin"])
    r = await api.client.post(
        "/portfolios", json=PORTFOLIO, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401, r.text
    assert "sub" in r.json()["detail"]
    assert await head(api) is None


# --- positions, scopes, ETags -------------------------------------------------------------


async def test_a_seen_position_past_the_log_head_is_422_and_writes_nothing(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    before = await head(api)
    assert before is not None
    r = await api.decide(project, "HOLD", seen_position=before + 1)
    await assert_refused(api, r, before, "seen_position", "past the log's head")
    r = await api.decide(project, "HOLD", seen_position=before)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("scope", ["project_id", "portfolio_id"])
async def test_a_delegation_scoped_to_nothing_that_exists_is_422(api: Api, scope: str) -> None:
    body = {"delegate": "gina", "ends": "2999-01-01T00:00:00Z", scope: str(uuid4())}
    await assert_refused(api, await api.post("/delegations", "dave", body), None, scope)


async def test_a_scope_the_delegator_cannot_see_reads_as_one_that_does_not_exist(
    api: Api,
) -> None:
    """Else a delegation would tell anyone which project ids exist."""
    hidden = await api.project(
        await api.portfolio(board={"members": ["bob", "bea"], "chair": "bob"})
    )
    mine = await api.project()
    await api.state(mine)  # the read models have caught up
    before = await head(api)
    answers = []
    for project in (hidden, str(uuid4())):
        body = {"delegate": "gina", "ends": "2999-01-01T00:00:00Z", "project_id": project}
        r = await api.post("/delegations", "dave", body)
        await assert_refused(api, r, before, "project_id", "no project")
        answers.append(r.json()["detail"].replace(project, "<id>"))
    assert answers[0] == answers[1]
    ends = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    r = await api.post(
        "/delegations", "dave", {"delegate": "gina", "ends": ends, "project_id": mine}
    )
    assert r.status_code == 201, r.text


async def test_a_weak_etag_never_matches_if_match(api: Api) -> None:
    project = await api.project()
    review = await api.review(project)
    before = await head(api)
    path = f"/projects/{project}/gates/G0/votes"
    body = {"vote": "approve", "rationale": "ok"}
    r = await api.post(path, "dave", body, **{"If-Match": f'W/"{review["version"]}"'})
    assert r.status_code == 412, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "weak" in r.json()["detail"]
    assert await head(api) == before
    r = await api.post(path, "dave", body, **{"If-Match": f'"{review["version"]}"'})
    assert r.status_code == 200, r.text
