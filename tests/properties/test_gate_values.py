"""Any gate review, vote, decision and condition is refused (4xx) or projected, read back
and rebuilt alike."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given

from tests.api.scenario import PORTFOLIO, project_body
from tests.properties.harness import PROPERTY, Harness
from tests.properties.strategies import integers, iso_dates, some_odd, texts

VALID = {
    "title": "Mandate",
    "link": "https://intranet/mandate.pdf",
    "content_hash": "sha256:abc",
    "rationale": "Clear mandate",
    "condition": "Finish the DPIA",
    "owner": "olga",
    "due": "2027-02-01",
    "seen_position": None,
    "note": "Done",
}
ODD = {
    "title": texts(),
    "link": texts(),
    "content_hash": texts(),
    "rationale": texts(),
    "condition": texts(),
    "owner": texts(max_size=120),
    "due": iso_dates(),
    "seen_position": integers(),
    "note": texts(),
}


async def walk_g0(harness: Harness, portfolio: str, f: dict[str, Any]) -> None:
    """Request G0, two approvals, a CONDITIONAL_GO and the condition's closing, each with
    the example's values; stop at the first refusal."""
    project = (await harness.must("/projects", "admin", project_body(portfolio), "pmo_admin"))["id"]
    gate = f"/projects/{project}/gates/G0"
    evidence = {"title": f["title"], "link": f["link"], "content_hash": f["content_hash"]}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (f"{gate}/review", "paula", {"evidence": [evidence]}),
        (f"{gate}/votes", "dave", {"vote": "approve", "rationale": f["rationale"]}),
        (f"{gate}/votes", "erin", {"vote": "approve", "rationale": "Agreed"}),
    ]
    decision = {
        "decision": "CONDITIONAL_GO",
        "rationale": f["rationale"],
        "conditions": [{"description": f["condition"], "owner": f["owner"], "due": f["due"]}],
    } | ({"seen_position": f["seen_position"]} if f["seen_position"] is not None else {})
    steps.append((f"{gate}/decision", "carol", decision))
    for path, person, body in steps:
        if (await harness.post(path, person, body)).status_code >= 400:
            break
        await check(harness, project)
    else:
        (condition,) = (await harness.read(f"/projects/{project}"))["conditions"]
        close = f"/projects/{project}/conditions/{condition['id']}/close"
        if (await harness.post(close, "olga", {"note": f["note"]})).status_code < 400:
            await check(harness, project)


async def check(harness: Harness, project: str) -> None:
    await harness.project_all()
    await harness.read(f"/projects/{project}")
    await harness.read(f"/projects/{project}/history")


def test_any_gate_act_is_refused_or_projected_and_rebuilt(harness: Harness) -> None:
    portfolio = harness.run(harness.must("/portfolios", "admin", PORTFOLIO, "pmo_admin"))["id"]

    @PROPERTY
    @given(f=some_odd(VALID, ODD))
    @example(f=VALID | {"due": "9999-12-31"})
    @example(f=VALID | {"due": "2024-02-29", "seen_position": 2**63})
    def case(f: dict[str, Any]) -> None:
        harness.run(walk_g0(harness, portfolio, f))

    case()
    harness.finish()
