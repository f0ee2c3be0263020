"""Any change request, approved or not, is refused (4xx) or projected, read back and
rebuilt alike; approving one re-baselines its project (budget and end date move)."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.api.scenario import PORTFOLIO, project_body
from tests.properties.harness import PROPERTY, Harness
from tests.properties.strategies import amounts, integers, some_odd, texts

VALID = {
    "budget": "250000.00",
    "end": "2027-12-31",
    "title": "More licences",
    "description": "For the pilot users",
    "cost": "10000.00",
    "days": 5,
    "scope": "pilot",
    "risk": "low",
    "rationale": "Worth it",
}
ODD = {
    "budget": amounts(),
    "end": st.sampled_from(["9999-12-31", "2999-12-31", "2999-12-30", "2990-01-01", "2024-02-29"]),
    "title": texts(),
    "description": texts(),
    "cost": amounts(),
    "days": integers(),
    "scope": texts(),
    "risk": texts(),
    "rationale": texts(),
}
WIDE = {"cost_pct": "999.99", "schedule_days": 3650}  # most changes stay with the sponsor


async def draft_submit_approve(harness: Harness, portfolio: str, f: dict[str, Any]) -> None:
    baseline = {
        "budget": {"amount": f["budget"], "currency": "EUR"},
        "start": "2026-01-01",
        "end": f["end"],
        "scope": "s",
    }
    body = project_body(portfolio, baseline=baseline, tolerances=WIDE)
    r = await harness.post("/projects", "admin", body, "pmo_admin")
    if r.status_code >= 400:
        return
    project = r.json()["id"]
    draft = {
        "title": f["title"],
        "description": f["description"],
        "cost_delta": {"amount": f["cost"], "currency": "EUR"},
        "schedule_delta_days": f["days"],
        "scope": f["scope"],
        "risk": f["risk"],
    }
    r = await harness.post(f"/projects/{project}/change-requests", "paula", draft)
    if r.status_code >= 400:
        return
    cr = f"/change-requests/{r.json()['id']}"
    if (await harness.post(f"{cr}/submit", "paula", {})).status_code >= 400:
        return
    await check(harness, project, cr)
    decider = "sam"
    if (await harness.read(cr))["route"] == "board":
        for voter in ("dave", "erin", "sam"):
            await harness.must(f"{cr}/votes", voter, {"vote": "approve", "rationale": "ok"})
        decider = "carol"
    decision = {"decision": "approve", "rationale": f["rationale"]}
    if (await harness.post(f"{cr}/decision", decider, decision)).status_code < 400:
        await check(harness, project, cr)


async def check(harness: Harness, project: str, cr: str) -> None:
    await harness.project_all()
    await harness.read(cr)
    await harness.read(f"/projects/{project}")
    await harness.read(f"/projects/{project}/history")


def test_any_change_request_is_refused_or_projected_and_rebuilt(harness: Harness) -> None:
    portfolio = harness.run(harness.must("/portfolios", "admin", PORTFOLIO, "pmo_admin"))["id"]

    @PROPERTY
    @given(f=some_odd(VALID, ODD))
    @example(f=VALID | {"end": "9999-12-31"})  # end + 5 days is past the calendar
    @example(f=VALID | {"end": "2999-12-31", "days": 3650})  # the new end is past 2999
    @example(f=VALID | {"end": "2999-12-31", "days": -3650, "cost": "-250000.00"})
    @example(f=VALID | {"budget": "999999999999999.9999", "cost": "999999999999999.9999"})
    def case(f: dict[str, Any]) -> None:
        harness.run(draft_submit_approve(harness, portfolio, f))

    case()
    harness.finish()
