"""Money that adds up (issue 12): released budgets, envelope overruns, tolerance left."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api
from tests.api.test_change_requests import raise_cr, read


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def budget(amount: str) -> dict[str, Any]:
    return {"baseline": {**project_baseline(), "budget": eur(amount)}}


def project_baseline() -> dict[str, Any]:
    return {"start": "2027-01-01", "end": "2027-12-31", "scope": "Replace the CRM"}


async def test_a_killed_project_releases_its_budget_and_the_overrun_is_flagged(
    api: Api,
) -> None:
    portfolio = await api.portfolio()
    await api.project(portfolio)  # 250,000 proposed: committed
    killed = await api.project(portfolio, name="Big bet", **budget("900000.00"))
    await api.review(killed)
    assert (await api.decide(killed, "KILL")).status_code == 200
    view = await read(api, f"/portfolios/{portfolio}")
    money = view["budget"]
    assert money["committed"] == eur("250000.00")
    assert money["released"] == eur("900000.00")
    assert money["baseline_total"] == eur("250000.00")
    assert money["remaining"] == eur("750000.00")
    assert (money["overrun"], money["over_by"]) == (False, eur("0.00"))
    await api.project(portfolio, name="Too much", **budget("800000.00"))
    money = (await read(api, f"/portfolios/{portfolio}"))["budget"]
    assert money["committed"] == eur("1050000.00")
    assert money["remaining"] == eur("-50000.00")
    assert (money["overrun"], money["over_by"]) == (True, eur("50000.00"))
    then = await read(api, f"/portfolios/{portfolio}?as_of={api.last_position}")
    assert then["budget"] == money


async def test_tolerance_left_counts_approved_changes_cumulatively(api: Api) -> None:
    project = await api.project()  # 250,000 at 10%: 25,000 and 30 days
    detail = await read(api, f"/projects/{project}")
    assert detail["tolerance_left"] == {"cost": eur("25000.00"), "schedule_days": 30}
    for amount, days in (("10000.00", 5), ("-2500.50", 3)):
        cr = await raise_cr(api, project, amount, days)
        r = await api.post(
            f"/change-requests/{cr}/decision", "sam", {"decision": "approve", "rationale": "ok"}
        )
        assert r.status_code == 200, r.text
    detail = await read(api, f"/projects/{project}")
    # 7,499.50 approved in all, 8 days: both still within, so the sponsor decides.
    assert detail["tolerance_left"] == {"cost": eur("17500.50"), "schedule_days": 22}
    then = await read(api, f"/projects/{project}?as_of={api.last_position}")
    assert then["tolerance_left"] == detail["tolerance_left"]
    over = await raise_cr(api, project, "17500.51", 0)
    assert (await read(api, f"/change-requests/{over}"))["route"] == "board"
    within = await raise_cr(api, project, "17500.50", 0)
    assert (await read(api, f"/change-requests/{within}"))["route"] == "sponsor"
