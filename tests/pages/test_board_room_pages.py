"""The project, decision record, change request, sign-off, portfolio, auditor and
administration pages (issue 13), over HTTP on a real PostgreSQL: what each shows, who
may see it (an outsider gets 404, as in the API), and that each form is refused without
the session's CSRF token and writes nothing, refusals showing the API's message."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from api.pages import portfolios as portfolio_pages
from domain.stored_names import STORED_NAMES
from eventstore.database import open_store
from eventstore.schema import StoreNames
from projections.projects import queries as project_list
from tests.pages.conftest import Browser, Room

CR = {
    "title": "Double the licences",
    "description": "Twice the users in the first year",
    "cost_delta": {"amount": "60000.00", "currency": "EUR"},
    "schedule_delta_days": 45,
}


async def _head(room: Room) -> int:
    conn = await asyncpg.connect(room.database_url)
    try:
        found = await conn.fetchval(
            f'SELECT max(notification_id) FROM "{room.schema}".stored_events'
        )
        return int(found or 0)
    finally:
        await conn.close()


async def _now(room: Room, path: str) -> Any:
    """The API's read of ``path`` once the read models hold everything written so far."""
    return await _ok(await room.api.get(f"{path}?min_position={await _head(room)}"))


async def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def _decided(room: Room) -> None:
    """The G0 review voted on (with rationales) and decided CONDITIONAL_GO."""
    api, p = room.api, room.project
    for voter in ("dave", "erin"):
        assert (await api.vote(p, voter)).status_code == 200
    condition = {"description": "Fix the plan", "owner": "olga", "due": "2030-01-01"}
    r = await api.decide(p, "CONDITIONAL_GO", conditions=[condition])
    assert r.status_code == 200, r.text
    await api.state(p)


async def _refused_without_csrf(
    room: Room, browser: Browser, path: str, form: dict[str, str]
) -> None:
    """A form without the token, or with a wrong one: 403, the log unchanged."""
    before = await _head(room)
    for sent in (form, {**form, "csrf": "forged"}):
        r = await browser.post(path, sent)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert "anti-forgery token" in r.text
        assert await _head(room) == before, f"{path} wrote without a CSRF token"


async def test_the_project_page_tells_the_story_and_shows_any_past_state(room: Room) -> None:
    await _decided(room)
    p = f"/projects/{room.project}"
    dave = room.browser()
    await dave.sign_in("dave")
    page = await dave.get(p)
    assert page.status_code == 200, page.text
    text = page.text
    # the timeline in plain words, from the audit read model, with rationales
    for line in (
        "created project &#39;CRM&#39;",
        "requested the G0 review",
        "voted approve on G0",
        "dave says approve",
        "decided CONDITIONAL_GO at G0",
    ):
        assert line in text, line
    assert text.index("requested the G0 review") < text.index("decided CONDITIONAL_GO at G0")
    # each decision links to its record; each event to the state just after it
    assert f'href="{p}/decisions/G0/1"' in text
    positions = [int(n) for n in re.findall(rf'href="{p}\?as_of=(\d+)"', text)]
    assert len(positions) >= 5 and positions == sorted(positions)
    # the state as of the review's request: before the decision, stage and status then
    then = await dave.get(f"{p}?as_of={positions[1]}")
    assert then.status_code == 200, then.text
    assert f"As it stood at position {positions[1]}" in then.text
    assert 'aria-current="step"' in then.text
    detail = await room.api.state(room.project, f"?as_of={positions[1]}")
    assert f"<dd>{detail['stage']}</dd>" in then.text
    assert detail["decisions"] == [] and "Fix the plan" not in then.text.split("Timeline")[0]
    assert "Fix the plan" in text.split("Timeline")[0]  # now: the condition is there
    # a date picker's time (UTC), and a point past the log's end: the API's refusal
    at = await dave.get(f"{p}?at=2000-01-01T00:00")
    assert at.status_code == 404 and "did not exist" in at.text
    past = await dave.get(f"{p}?as_of=999999")
    assert past.status_code == 422 and "past the end of the log" in past.text
    # an outsider: 404, as in the API
    nina = room.browser()
    await nina.sign_in("nina")
    assert (await nina.get(p)).status_code == 404
    assert (await nina.get(f"{p}/decisions/G0/1")).status_code == 404


async def test_the_decision_record_reads_as_printable_minutes(room: Room) -> None:
    await _decided(room)
    sam = room.browser()
    await sam.sign_in("sam")  # the sponsor, not on the board
    page = await sam.get(f"/projects/{room.project}/decisions/G0/1")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Minutes: CRM, gate G0" in text
    assert "<strong>CONDITIONAL_GO</strong>" in text and "board decided" in text
    assert "carol" in text.split("Decided by")[1][:200]
    assert "sha256:abc" in text  # the evidence's hash
    assert "dave says approve" in text and "erin says approve" in text
    assert "Fix the plan" in text and "olga" in text
    assert 'media="print"' in text  # the print stylesheet
    # the same record the API answers
    api = await _ok(await room.api.get(f"/projects/{room.project}/gates/G0/decisions/1"))
    assert str(api["decision"]["position"]) in text
    missing = await sam.get(f"/projects/{room.project}/decisions/G0/2")
    assert missing.status_code == 404 and "no decision 2" in missing.text


async def test_a_change_request_page_shows_the_tolerance_and_takes_votes(room: Room) -> None:
    api, p = room.api, room.project
    cr = (await _ok(await api.post(f"/projects/{p}/change-requests", "paula", CR), 201))["id"]
    await _ok(await api.post(f"/change-requests/{cr}/submit", "paula", None))
    await api.state(p)
    page_path = f"/change-requests/{cr}"
    dave = room.browser()
    await dave.sign_in("dave")
    inbox = await dave.get("/inbox")  # the inbox's item leads here
    assert f'href="/change-requests/{cr}"' in inbox.text
    page = await dave.get(page_path)
    assert page.status_code == 200, page.text
    text = page.text
    # the impact, and the tolerance (10% of 250,000 = 25,000): this asks more than is left
    assert "Double the licences" in text and "60,000.00" in text and "45 days" in text
    assert "25,000.00" in text and "It goes beyond what is left: the board decides." in text
    assert 'role="img" aria-label="cost tolerance: 0% used, 100% asked' in text
    assert "Your vote" in text  # dave owes a vote (the inbox says so)
    vote = {"vote": "approve", "rationale": "Worth it"}
    await _refused_without_csrf(room, dave, f"{page_path}/vote", vote)
    token = dave.csrf(text)
    r = await dave.post(f"{page_path}/vote", {**vote, "csrf": token})
    assert r.status_code == 303, r.text
    assert (await _now(room, page_path))["votes"] == {"dave": "approve"}
    # deciding is the chair's: dave is refused with the API's own message, nothing written
    before = await _head(room)
    refused = await dave.post(
        f"{page_path}/decide", {"decision": "approve", "rationale": "yes", "csrf": token}
    )
    assert refused.status_code == 403, refused.text
    assert 'role="alert"' in refused.text and "Nothing was recorded." in refused.text
    assert await _head(room) == before
    # the chair decides from the page
    carol = room.browser()
    await carol.sign_in("carol")
    page = await carol.get(page_path)
    assert "Record the decision" in page.text
    r = await carol.post(
        f"{page_path}/decide",
        {"decision": "reject", "rationale": "Not this year", "csrf": carol.csrf(page.text)},
    )
    assert r.status_code == 303, r.text
    decided = await _now(room, page_path)
    assert decided["status"] == "rejected"
    assert decided["decisions"][0]["rationale"] == "Not this year"
    shown = await carol.get(f"{page_path}?done=decision")
    assert "Not this year" in shown.text and "Record the decision" not in shown.text
    nina = room.browser()
    await nina.sign_in("nina")
    assert (await nina.get(page_path)).status_code == 404


async def test_a_signatory_signs_or_declines_from_the_sign_off_page(room: Room) -> None:
    api, p = room.api, room.project
    body = {
        "deliverable": "Business case",
        "version": "2.1",
        "content_hash": "sha256:5e1f00d",
        "signatories": ["sam", "dave"],
    }
    so = (await _ok(await api.post(f"/projects/{p}/signoffs", "paula", body), 201))["id"]
    await api.state(p)
    path = f"/signoffs/{so}"
    sam = room.browser()
    await sam.sign_in("sam")
    assert f'href="{path}"' in (await sam.get("/inbox")).text
    page = await sam.get(path)
    assert page.status_code == 200, page.text
    assert "Business case v2.1" in page.text and "sha256:5e1f00d" in page.text
    assert "not yet answered" in page.text and "Sign Business case v2.1" in page.text
    await _refused_without_csrf(room, sam, f"{path}/sign", {"comment": "Fine"})
    r = await sam.post(f"{path}/sign", {"comment": "Fine by me", "csrf": sam.csrf(page.text)})
    assert r.status_code == 303, r.text
    state = await _now(room, path)
    assert [(s["person"], s["comment"]) for s in state["signed"]] == [("sam", "Fine by me")]
    # signed: the form is gone for sam; paula (not a signatory) never had it
    again = await sam.get(path)
    assert "Fine by me" in again.text and "Sign Business case" not in again.text
    paula = room.browser()
    await paula.sign_in("paula")
    assert "Sign Business case" not in (await paula.get(path)).text
    # dave declines: a refusal without a comment says the API's words, then with one
    dave = room.browser()
    await dave.sign_in("dave")
    token = dave.csrf((await dave.get(path)).text)
    before = await _head(room)
    refused = await dave.post(f"{path}/decline", {"comment": "", "csrf": token})
    assert refused.status_code in (409, 422), refused.text
    assert 'role="alert"' in refused.text and await _head(room) == before
    r = await dave.post(f"{path}/decline", {"comment": "Costs are stale", "csrf": token})
    assert r.status_code == 303, r.text
    assert (await _now(room, path))["status"] == "declined"
    nina = room.browser()
    await nina.sign_in("nina")
    assert (await nina.get(path)).status_code == 404


async def test_the_portfolio_page_shows_stages_budget_and_overruns(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = room.api
    small = await api.portfolio(name="Tight", envelope={"amount": "300000.00", "currency": "EUR"})
    await api.project(small, name="Alpha")
    beta = await api.project(small, name="Beta")
    await api.review(beta)
    await api.state(beta)
    carol = room.browser()
    await carol.sign_in("carol")
    listing = await carol.get("/portfolios")
    assert listing.status_code == 200 and "Tight" in listing.text and "Digital" in listing.text
    page = await carol.get(f"/portfolios/{small}")
    assert page.status_code == 200, page.text
    text = page.text
    view = await _ok(await api.get(f"/portfolios/{small}"))
    assert view["budget"]["overrun"] is True
    assert "Overrun: EUR 200,000.00 beyond the envelope." in re.sub(r"<[^>]+>", "", text)
    assert 'class="bar is-overrun"' in text
    assert "Alpha" in text and "Beta" in text and "G0 review open" in text
    for stage, n in view["projects"]["by_stage"].items():
        assert f'{stage} <span class="muted">({n})</span>' in text
    # a long column shows its first cards and counts the rest
    monkeypatch.setattr(portfolio_pages, "PER_STAGE", 1)
    short = (await carol.get(f"/portfolios/{small}")).text
    assert "Alpha" in short and "Beta" not in short and "and 1 more" in short
    nina = room.browser()
    await nina.sign_in("nina")
    assert (await nina.get(f"/portfolios/{small}")).status_code == 404
    assert "Tight" not in (await nina.get("/portfolios")).text


async def test_a_project_card_says_what_the_project_list_says(room: Room) -> None:
    """The cards (portfolio and administration pages) come from the read model's columns
    and the open review's gate, not the documents: the same as the API's list."""
    api = room.api
    small = await api.portfolio(name="Cards")
    baseline = {
        "budget": {"amount": "1234.50", "currency": "EUR"},
        "start": "2027-01-01",
        "end": "2027-12-31",
        "scope": "A pilot",
    }
    await api.project(small, name="Alpha", baseline=baseline)
    beta = await api.project(small, name="Beta")
    await api.review(beta)
    await api.state(beta)
    store = await open_store(
        room.database_url, StoreNames(schema=room.schema), stored_names=STORED_NAMES, max_size=2
    )
    try:
        listed, _ = await project_list.list_projects(store.pool, store.names, limit=100)
        cards, more = await portfolio_pages.project_cards(store, limit=100)
        mine, _ = await project_list.list_projects(
            store.pool, store.names, portfolio_id=UUID(small), limit=100
        )
        by_stage, _ = await portfolio_pages.project_cards(
            store, portfolio_id=UUID(small), per_stage=portfolio_pages.PER_STAGE
        )
    finally:
        await store.pool.close()
    assert cards == listed and not more
    shown = {c["name"]: (c["open_review"], c["budget"]["amount"]) for c in cards}
    assert shown["Alpha"] == (None, "1234.50") and shown["Beta"][0] == "G0"
    assert by_stage == mine and [c["name"] for c in mine] == ["Alpha", "Beta"]


async def test_the_auditor_filters_exports_and_verifies(room: Room) -> None:
    await _decided(room)
    audrey = room.browser()
    await audrey.sign_in("audrey", "/auditor", "auditor")
    page = await audrey.get("/auditor?actor=dave&type=&from=&to=&project_id=")
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>", page.text)
    api = await _ok(await room.api.get("/audit/events?actor=dave"))
    assert [int(r) for r in rows] == [i["position"] for i in api["items"]] and rows
    assert "voted approve on G0" in page.text and "erin says approve" not in page.text
    # the export links carry the filters and answer what the API's export answers
    link = re.search(r'href="(/auditor/export\?format=csv[^"]*)"', page.text)
    assert link and "actor=dave" in link.group(1)
    exported = await audrey.get(link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["actor"] for row in lines} == {"dave"} and len(lines) == len(rows)
    ledger = await audrey.get("/auditor/export?format=ledger")
    assert ledger.status_code == 200 and len(ledger.text.splitlines()) == await _head(room)
    # a time window from the picker (UTC), and a malformed id: the API's 422
    window = await audrey.get("/auditor?from=2000-01-01T00:00&to=2000-01-02T00:00")
    assert window.status_code == 200 and "No event matches these filters." in window.text
    bad = await audrey.get("/auditor?project_id=nope")
    assert bad.status_code == 422 and "project_id must be an id" in bad.text
    # verification on request, and the checkpoints
    checked = await audrey.get("/auditor?verify=0")
    assert checked.status_code == 200 and "<strong>Intact.</strong>" in checked.text
    await _ok(await room.api.post("/audit/checkpoints", "audrey", None, "auditor"), 201)
    listed = await audrey.get("/auditor")
    assert "1 in all" in listed.text
    # a board member is no auditor: 403; a pmo_admin reads the trail but has no exports
    dave = room.browser()
    await dave.sign_in("dave")
    assert (await dave.get("/auditor")).status_code == 403
    adam = room.browser()
    await adam.sign_in("adam", "/inbox", "pmo_admin")
    assert "Exports are for the auditor role." in (await adam.get("/auditor")).text
    assert (await adam.get("/auditor/export?format=csv")).status_code == 403


async def test_administration_changes_boards_roles_and_holds_with_reasons(room: Room) -> None:
    api, p = room.api, room.project
    project = await api.state(p)
    portfolio = project["portfolio_id"]
    adam = room.browser()
    await adam.sign_in("adam", "/admin", "pmo_admin")
    page = await adam.get(f"/admin?portfolio_id={portfolio}&project_id={p}")
    assert page.status_code == 200, page.text
    assert "Digital" in page.text and "carol, dave, erin" in page.text
    assert "Change the board" in page.text and "Put on hold" in page.text
    token = adam.csrf(page.text)
    board = {"members": "carol, dave, erin, fay", "chair": "carol", "reason": "Fay joins"}
    await _refused_without_csrf(room, adam, f"/admin/portfolios/{portfolio}/board", board)
    r = await adam.post(f"/admin/portfolios/{portfolio}/board", {**board, "csrf": token})
    assert r.status_code == 303, r.text
    view = await _ok(await api.get(f"/portfolios/{portfolio}?min_position={await _head(room)}"))
    assert view["board"] == {"members": ["carol", "dave", "erin", "fay"], "chair": "carol"}
    # a chair who is not a member: the API's 422, shown next to the form, nothing written
    before = await _head(room)
    bad = {"members": "carol dave", "chair": "zed", "reason": "x", "csrf": token}
    refused = await adam.post(f"/admin/portfolios/{portfolio}/board", bad)
    assert refused.status_code == 422, refused.text
    assert 'role="alert"' in refused.text and await _head(room) == before
    # a role, and hold then resume, each with its reason
    role = {"action": "assign", "role": "stakeholder", "person": "stan", "reason": "Finance"}
    await _refused_without_csrf(room, adam, f"/admin/projects/{p}/roles", role)
    r = await adam.post(f"/admin/projects/{p}/roles", {**role, "csrf": token})
    assert r.status_code == 303, r.text
    blank = await adam.post(f"/admin/projects/{p}/hold", {"reason": " ", "csrf": token})
    assert blank.status_code == 422 and await _head(room) == before + 1
    await _refused_without_csrf(room, adam, f"/admin/projects/{p}/hold", {"reason": "Audit"})
    r = await adam.post(f"/admin/projects/{p}/hold", {"reason": "Audit first", "csrf": token})
    assert r.status_code == 303, r.text
    held = await api.state(p, f"?min_position={await _head(room)}")
    assert held["status"] == "on_hold" and "stan" in held["stakeholders"]
    page = await adam.get(f"/admin?project_id={p}&done=hold")
    assert "The project is on hold." in page.text and "Resume the project" in page.text
    r = await adam.post(f"/admin/projects/{p}/resume", {"reason": "Audit done", "csrf": token})
    assert r.status_code == 303, r.text
    history = await _ok(await api.get(f"/projects/{p}/history?limit=500"))
    reasons = [e["data"].get("reason") for e in history["items"][-3:]]
    assert reasons == ["Finance", "Audit first", "Audit done"]
    # not a pmo_admin: 403, as in the API
    carol = room.browser()
    await carol.sign_in("carol")
    assert (await carol.get("/admin")).status_code == 403
