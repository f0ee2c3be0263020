"""The board room in a real browser (issue 13): Debian's Chromium, driven by Playwright,
against a real ``gateledger serve`` on the tests' PostgreSQL.

A board member signs in by link, finds the review in their inbox, opens it, reads the
evidence and votes with a rationale; the chair (another link) is refused a conditional
go without conditions (the API's message, next to the form), then decides CONDITIONAL_GO
with a condition; the vote and the decision are in the project's log with their
rationales; the condition's owner, whose inbox is open, sees it arrive without a reload (live
updates over /live). The pages are also read with
JavaScript off, and at phone width.

Screenshots of each page are saved in the test's folder, and in docs/screenshots/ (the
README shows them) when a file there is missing or ``GATELEDGER_SCREENSHOTS=1`` asks to
refresh them: a test run does not change the tracked files otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright

from api.auth import mint_token
from api.pages.sessions import mint_link
from tests.api.scenario import PORTFOLIO, project_body
from tests.e2e.server import Server
from tests.pages.served import CHROMIUM, SETTINGS, SHOTS, Api

VIEWPORT: ViewportSize = {"width": 1000, "height": 720}
EVIDENCE = [
    {
        "title": "Project mandate",
        "link": "https://intranet.example/mandate.pdf",
        "content_hash": "sha256:9f2c41",
    },
    {"title": "Business case v1", "link": "javascript:alert(1)", "content_hash": "sha256:77aa03"},
]


def sign_in(browser: Browser, api: Api, who: str, **context: Any) -> Page:
    """A browser of ``who``'s own, signed in by a link (opened, then the button)."""
    page = browser.new_context(**{"viewport": VIEWPORT, **context}).new_page()
    page.goto(mint_link(SETTINGS, api.origin, who, to="/inbox"))
    expect(page.get_by_role("heading", name=f"Sign in as {who}")).to_be_visible()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    return page


def shot(page: Page | Locator, name: str, folder: Path, full: bool = False) -> None:
    """``name``.png in ``folder``, and in docs/screenshots/ if missing there or asked for."""
    where = [folder / f"{name}.png"]
    if os.environ.get("GATELEDGER_SCREENSHOTS") == "1" or not (SHOTS / f"{name}.png").exists():
        SHOTS.mkdir(parents=True, exist_ok=True)
        where.append(SHOTS / f"{name}.png")
    for path in where:
        if isinstance(page, Locator):
            page.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path), full_page=full)


def test_sign_in_vote_and_decide_a_conditional_go_in_a_browser(
    server: Server, tmp_path: Path
) -> None:
    api = Api(server)
    portfolio = api.call("POST", "/portfolios", "admin", PORTFOLIO, "pmo_admin")["id"]
    body = project_body(portfolio, name="Data platform")
    project = api.call("POST", "/projects", "admin", body, "pmo_admin")["id"]
    api.call("POST", f"/projects/{project}/gates/G0/review", "paula", {"evidence": EVIDENCE})
    api.call("GET", f"/me/inbox?min_position={api.position}", "dave")  # the inbox holds it
    review = f"/projects/{project}/review"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # signed out: the sign-in page says how to get a link
            anonymous = browser.new_context(viewport=VIEWPORT).new_page()
            anonymous.goto(api.origin + review)
            expect(anonymous.get_by_role("heading", name="Sign in to Gateledger")).to_be_visible()
            expect(anonymous.locator("code").first).to_contain_text(f"--to {review}")
            shot(anonymous, "sign-in", tmp_path)

            # a board member: inbox -> the review -> a vote with a rationale
            dave = sign_in(browser, api, "dave", timezone_id="Europe/Berlin")
            item = dave.get_by_role("link", name="Data platform: G0 Mandate review")
            expect(item).to_be_visible()
            since = dave.locator(".items time[data-local]").first
            assert (since.get_attribute("title") or "").endswith("UTC")
            assert "UTC" not in since.inner_text()  # shown in the reader's zone (Berlin)
            shot(dave, "inbox", tmp_path)
            item.click()
            expect(dave.get_by_role("heading", level=1)).to_contain_text("G0 Mandate review")
            evidence = dave.get_by_role("link", name="Project mandate")
            assert evidence.get_attribute("href") == "https://intranet.example/mandate.pdf"
            expect(dave.get_by_role("link", name="Business case v1")).to_have_count(
                0
            )  # javascript:
            expect(dave.get_by_text("sha256:9f2c41")).to_be_visible()
            dave.get_by_label("Approve").check()
            dave.get_by_label("Rationale").fill("The mandate is clear; the data owner signed it.")
            dave.get_by_role("button", name="Cast vote").click()
            expect(dave.get_by_role("status")).to_have_text("Your vote is recorded.")
            expect(dave.locator(".votes")).to_contain_text("the data owner signed it")
            shot(dave, "review-voted", tmp_path, full=True)
            api.call(
                "POST",
                f"/projects/{project}/gates/G0/votes",
                "erin",
                {"vote": "approve", "rationale": "Agreed."},
            )
            api.call("GET", f"/me/inbox?min_position={api.position}", "carol")

            # the condition's future owner has the inbox open, at phone width: nothing yet
            olga = sign_in(browser, api, "olga", viewport={"width": 390, "height": 780})
            expect(olga.get_by_text("Nothing is waiting for you.")).to_be_visible()
            olga.wait_for_selector("body[data-live-open]")  # listening to /live
            olga.evaluate("window.notReloaded = true")

            # the chair: a conditional go without a condition is refused, as the API says
            carol = sign_in(browser, api, "carol")
            carol.get_by_role("link", name="Data platform: G0 Mandate review").first.click()
            form = carol.locator("form[action$='/review/decide']")
            form.get_by_label("Conditional go").check()
            form.get_by_label("Rationale").fill("Go, once the data-protection assessment is done.")
            form.get_by_role("button", name="Record the decision").click()
            refusal = carol.get_by_role("alert")
            expect(refusal).to_contain_text("condition")
            refused_detail = refusal.inner_text()
            shot(carol.locator("section", has=form), "review-refused", tmp_path)
            same = api.http.post(  # the API's answer to the same request, word for word
                f"/projects/{project}/gates/G0/decision",
                json={"decision": "CONDITIONAL_GO", "rationale": "Go, once it is done."},
                headers={"Authorization": f"Bearer {mint_token(SETTINGS, 'carol')}"},
            )
            assert same.status_code >= 400 and same.json()["detail"] in refused_detail
            assert f"({same.status_code})" in refused_detail
            # the form kept what was sent; a condition with its owner and due date
            expect(form.get_by_label("Rationale")).to_have_value(
                "Go, once the data-protection assessment is done."
            )
            form.get_by_label("Condition 1").fill("Complete the DPIA")
            form.get_by_label("Owner").first.fill("olga")
            form.get_by_label("Due").first.fill("2030-03-31")
            form.get_by_role("button", name="Record the decision").click()
            expect(carol.get_by_role("status")).to_have_text("The decision is recorded.")
            expect(carol.locator(".decision")).to_contain_text("CONDITIONAL_GO")
            expect(carol.locator(".decision")).to_contain_text("Complete the DPIA (olga")
            shot(carol, "decision", tmp_path, full=True)

            # the condition's owner sees it arrive in the open inbox, without a reload
            expect(olga.locator(".items")).to_contain_text("Complete the DPIA", timeout=15_000)
            assert olga.evaluate("window.notReloaded") is True
            expect(olga.get_by_role("status")).to_have_text("Updated just now.")
            shot(olga, "inbox-phone", tmp_path)

            # reads work with JavaScript off: the review as the sponsor sees it
            sam = sign_in(browser, api, "sam", java_script_enabled=False)
            sam.goto(api.origin + review)
            expect(sam.locator(".decision")).to_contain_text("Go, once the data-protection")
            expect(sam.locator(".decision time").first).to_contain_text("UTC")
        finally:
            browser.close()

    # the log holds the vote and the decision, with their rationales and the condition
    history = api.call("GET", f"/projects/{project}/history?limit=500", "auditor", None, "auditor")
    events = {e["type"]: e for e in history["items"]}
    votes = [e for e in history["items"] if e["type"] == "Project.VoteCast"]
    assert [(v["actor"], v["on_behalf_of"], v["data"]["rationale"]) for v in votes] == [
        ("dave", None, "The mandate is clear; the data owner signed it."),
        ("erin", None, "Agreed."),
    ]
    decided = events["Project.GateDecided"]
    assert decided["actor"] == "carol"
    assert decided["data"]["decision"] == "CONDITIONAL_GO"
    assert [c["owner"] for c in decided["data"]["conditions"]] == ["olga"]
