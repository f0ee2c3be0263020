"""Any portfolio or project body is refused (4xx) or projected, read back and rebuilt alike."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from tests.api.scenario import PORTFOLIO, project_body
from tests.properties.harness import PROPERTY, Harness
from tests.properties.strategies import amounts, integers, iso_dates, some_odd, texts

PORTFOLIO_FIELDS = {
    "name": "Digital",
    "objective": "Modernise",
    "envelope": "1000000.00",
    "version": 1,
    "vote_due_days": 10,
    "quorum": 1,
    "title": "",
}
ODD_PORTFOLIO = {
    "name": texts(),
    "objective": texts(),
    "envelope": amounts(),
    "version": integers(),
    "vote_due_days": integers(),
    "quorum": integers(),
    "title": texts(),
}


def portfolio_body(f: dict[str, Any]) -> dict[str, Any]:
    gates = [
        {
            "name": "A",
            "opens_stage": "Go",
            "quorum": f["quorum"],
            "vote_due_days": f["vote_due_days"],
        },
        {"name": "B", "opens_stage": "Closed", "title": f["title"]},
    ]
    return {
        **PORTFOLIO,
        "name": f["name"],
        "objectives": [f["objective"]],
        "envelope": {"amount": f["envelope"], "currency": "EUR"},
        "template": {"name": "T", "version": f["version"], "gates": gates},
    }


def test_any_portfolio_is_refused_or_projected_and_rebuilt(harness: Harness) -> None:
    @PROPERTY
    @given(fields=some_odd(PORTFOLIO_FIELDS, ODD_PORTFOLIO))
    def case(fields: dict[str, Any]) -> None:
        async def steps() -> None:
            r = await harness.post("/portfolios", "admin", portfolio_body(fields), "pmo_admin")
            if r.status_code == 201:
                await harness.project_all()
                view = await harness.read(f"/portfolios/{r.json()['id']}")
                assert view["name"] == fields["name"]

        harness.run(steps())

    case()
    harness.finish()


PROJECT_FIELDS = {
    "name": "CRM",
    "budget": "250000.00",
    "start": "2027-01-01",
    "end": "2027-12-31",
    "scope": "",
    "cost_pct": "10",
    "schedule_days": 30,
}
ODD_PROJECT = {
    "name": texts(),
    "budget": amounts(),
    "start": iso_dates(),
    "end": iso_dates(),
    "scope": texts(),
    "cost_pct": amounts(),
    "schedule_days": integers(),
}


def test_any_project_is_refused_or_projected_and_rebuilt(harness: Harness) -> None:
    portfolio = harness.run(harness.must("/portfolios", "admin", PORTFOLIO, "pmo_admin"))["id"]

    @PROPERTY
    @given(f=some_odd(PROJECT_FIELDS, ODD_PROJECT))
    def case(f: dict[str, Any]) -> None:
        baseline = {
            "budget": {"amount": f["budget"], "currency": "EUR"},
            "start": f["start"],
            "end": f["end"],
            "scope": f["scope"],
        }
        tolerances = {"cost_pct": f["cost_pct"], "schedule_days": f["schedule_days"]}
        body = project_body(portfolio, name=f["name"], baseline=baseline, tolerances=tolerances)

        async def steps() -> None:
            r = await harness.post("/projects", "admin", body, "pmo_admin")
            if r.status_code == 201:
                await harness.project_all()
                project = await harness.read(f"/projects/{r.json()['id']}")
                assert project["name"] == f["name"]
                await harness.read(f"/portfolios/{portfolio}")

        harness.run(steps())

    case()
    harness.finish()
