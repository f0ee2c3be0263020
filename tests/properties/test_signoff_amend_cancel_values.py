"""Any sign-off request and answer, change request amendment and assessment, and project
cancellation is refused (4xx) or projected, read back and rebuilt alike."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.api.scenario import PORTFOLIO, project_body
from tests.properties.harness import PROPERTY, Harness
from tests.properties.strategies import amounts, integers, some_odd, texts

SIGNOFF = {
    "deliverable": "Business case",
    "version": "1.0",
    "content_hash": "sha256:abc",
    "signatory": "sam",
    "comment": "Approved",
    "declines": False,
}
ODD_SIGNOFF = {
    "deliverable": texts(),
    "version": texts(max_size=60),
    "content_hash": texts(),
    "signatory": texts(max_size=120),
    "comment": texts(),
    "declines": st.booleans(),
}


async def request_and_answer(harness: Harness, project: str, f: dict[str, Any]) -> None:
    body = {
        "deliverable": f["deliverable"],
        "version": f["version"],
        "content_hash": f["content_hash"],
        "signatories": [f["signatory"]],
    }
    r = await harness.post(f"/projects/{project}/signoffs", "paula", body)
    if r.status_code >= 400:
        return
    await check(harness, project, f"/signoffs/{r.json()['id']}")
    answer = f"/signoffs/{r.json()['id']}/{'decline' if f['declines'] else 'sign'}"
    if (await harness.post(answer, f["signatory"], {"comment": f["comment"]})).status_code < 400:
        await check(harness, project, f"/signoffs/{r.json()['id']}")


def test_any_signoff_is_refused_or_projected_and_rebuilt(harness: Harness) -> None:
    portfolio = harness.run(harness.must("/portfolios", "admin", PORTFOLIO, "pmo_admin"))["id"]
    body = project_body(portfolio)
    project = harness.run(harness.must("/projects", "admin", body, "pmo_admin"))["id"]

    @PROPERTY
    @given(f=some_odd(SIGNOFF, ODD_SIGNOFF))
    def case(f: dict[str, Any]) -> None:
        harness.run(request_and_answer(harness, project, f))

    case()
    harness.finish()


AMEND = {
    "title": "t",
    "description": "d",
    "cost": "1.00",
    "days": 1,
    "scope": "",
    "assessment": "a",
    "reason": "r",
}
ODD_AMEND = {
    "title": texts(),
    "description": texts(),
    "cost": amounts(),
    "days": integers(),
    "scope": texts(),
    "assessment": texts(),
    "reason": texts(),
}


async def amend_then_cancel(harness: Harness, portfolio: str, f: dict[str, Any]) -> None:
    project = (await harness.must("/projects", "admin", project_body(portfolio), "pmo_admin"))["id"]
    impact = {
        "title": "More licences",
        "description": "For the pilot",
        "cost_delta": {"amount": "10.00", "currency": "EUR"},
        "schedule_delta_days": 1,
    }
    cr = (
        "/change-requests/"
        + (await harness.must(f"/projects/{project}/change-requests", "paula", impact))["id"]
    )
    await harness.must(f"{cr}/submit", "paula", {})
    amended = {
        "title": f["title"],
        "description": f["description"],
        "cost_delta": {"amount": f["cost"], "currency": "EUR"},
        "schedule_delta_days": f["days"],
        "scope": f["scope"],
    }
    if (await harness.post(f"{cr}/amend", "paula", amended)).status_code < 400:
        await check(harness, project, cr)
    assessment = {"assessment": f["assessment"]}
    if (await harness.post(f"{cr}/assess", "admin", assessment, "pmo_admin")).status_code < 400:
        await check(harness, project, cr)
    cancel = f"/projects/{project}/cancel"
    if (
        await harness.post(cancel, "admin", {"reason": f["reason"]}, "pmo_admin")
    ).status_code < 400:
        await check(harness, project, cr)


def test_any_amendment_and_cancellation_is_refused_or_projected_and_rebuilt(
    harness: Harness,
) -> None:
    portfolio = harness.run(harness.must("/portfolios", "admin", PORTFOLIO, "pmo_admin"))["id"]

    @PROPERTY
    @given(f=some_odd(AMEND, ODD_AMEND))
    def case(f: dict[str, Any]) -> None:
        harness.run(amend_then_cancel(harness, portfolio, f))

    case()
    harness.finish()


async def check(harness: Harness, project: str, subject: str) -> None:
    await harness.project_all()
    await harness.read(subject)
    await harness.read(f"/projects/{project}")
    await harness.read("/me/inbox")
