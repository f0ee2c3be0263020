"""The board room's other pages in a real browser (issue 13): Debian's Chromium, driven by
Playwright, against a real ``gateledger serve`` on the tests' PostgreSQL.

After a gate decided CONDITIONAL_GO, a change request and a sign-off: a board member reads
the project's timeline, opens the state as of an event (and with JavaScript off, by the
as-of form), the decision's record (printable), the change request and the sign-off; the
chair reads the portfolio (also at phone width); the auditor filters the trail and
downloads an export; the PMO holds a project with a reason. Screenshots of each page go
to docs/screenshots/ (the framework's flow, tests/pages/test_board_room_browser.py,
takes the sign-in, inbox and review pages).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.pages.sessions import mint_link
from tests.api.scenario import PORTFOLIO, project_body
from tests.e2e.server import Server
from tests.pages.served import CHROMIUM, SETTINGS, SHOTS, Api

WIDE = {"width": 1100, "height": 760}


def sign_in(browser: Browser, api: Api, who: str, to: str, *roles: str, **context: Any) -> Page:
    page = browser.new_context(**{"viewport": WIDE, **context}).new_page()
    page.goto(mint_link(SETTINGS, api.origin, who, roles, to=to))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def shot(page: Page, name: str) -> None:
    """A screenshot for the README, when missing or asked for (GATELEDGER_SCREENSHOTS=1),
    as the framework's browser test takes its own."""
    if os.environ.get("GATELEDGER_SCREENSHOTS") == "1" or not (SHOTS / f"{name}.png").exists():
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_timeline_as_of_records_portfolio_auditor_and_administration(server: Server) -> None:
    api = Api(server)
    portfolio = api.call("POST", "/portfolios", "admin", PORTFOLIO, "pmo_admin")["id"]
    project = api.call(
        "POST", "/projects", "admin", project_body(portfolio, name="Data platform"), "pmo_admin"
    )["id"]
    api.call("POST", "/projects", "admin", project_body(portfolio, name="Web shop"), "pmo_admin")
    evidence = [
        {
            "title": "Mandate",
            "link": "https://intranet.example/m.pdf",
            "content_hash": "sha256:9f2c41",
        }
    ]
    api.call("POST", f"/projects/{project}/gates/G0/review", "paula", {"evidence": evidence})
    for voter, words in (("dave", "The mandate is clear."), ("erin", "Agreed, with the DPIA.")):
        api.call(
            "POST",
            f"/projects/{project}/gates/G0/votes",
            voter,
            {"vote": "approve", "rationale": words},
        )
    condition = {"description": "Complete the DPIA", "owner": "olga", "due": "2030-03-31"}
    api.call(
        "POST",
        f"/projects/{project}/gates/G0/decision",
        "carol",
        {
            "decision": "CONDITIONAL_GO",
            "rationale": "Go, once the DPIA is done.",
            "conditions": [condition],
        },
    )
    cr_body = {
        "title": "More licences",
        "description": "Twice the users in year one",
        "cost_delta": {"amount": "60000.00", "currency": "EUR"},
        "schedule_delta_days": 20,
    }
    cr = api.call("POST", f"/projects/{project}/change-requests", "paula", cr_body)["id"]
    api.call("POST", f"/change-requests/{cr}/submit", "paula")
    signoff = {
        "deliverable": "Business case",
        "version": "2.1",
        "content_hash": "sha256:5e1f00d",
        "signatories": ["sam"],
    }
    so = api.call("POST", f"/projects/{project}/signoffs", "paula", signoff)["id"]
    api.caught_up(project)
    timeline = f"/projects/{project}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # a board member: the timeline, then the state as of the review's request
            dave = sign_in(browser, api, "dave", timeline, timezone_id="Europe/Berlin")
            expect(dave.get_by_role("heading", level=1)).to_have_text("Data platform")
            events = dave.locator(".timeline li")
            expect(events.first).to_contain_text("created project 'Data platform'")
            expect(dave.locator(".timeline")).to_contain_text("The mandate is clear.")
            expect(dave.locator(".timeline")).to_contain_text("decided CONDITIONAL_GO at G0")
            when = events.first.locator("time")
            title = when.get_attribute("title", timeout=5000)
            assert title and title.endswith("UTC")
            assert "UTC" not in when.inner_text()  # the reader's zone (Berlin)
            shot(dave, "project")
            # the page listens: a role given meanwhile appears in the timeline, no reload
            dave.wait_for_selector("body[data-live-open]")
            dave.evaluate("window.notReloaded = true")
            role = {"action": "assign", "role": "stakeholder", "person": "stan"}
            api.call(
                "POST",
                timeline + "/roles",
                "admin",
                {**role, "reason": "Owns the data"},
                "pmo_admin",
            )
            expect(dave.locator(".timeline")).to_contain_text("Owns the data", timeout=15_000)
            assert dave.evaluate("window.notReloaded") is True
            requested = dave.locator(".timeline li", has_text="requested the G0 review")
            requested.get_by_role("link", name="state after").click()
            expect(dave.get_by_role("heading", level=2).first).to_contain_text(
                "As it stood at position"
            )
            expect(dave.locator(".timeline li.is-here")).to_contain_text("requested the G0 review")
            expect(dave.locator(".facts")).to_have_count(1)
            expect(dave.locator("#state-h ~ div")).not_to_contain_text("Complete the DPIA")
            shot(dave, "project-as-of")
            # each decision's record, printable
            dave.goto(api.origin + timeline)
            dave.get_by_role("link", name="the record: evidence, votes, context").click()
            expect(dave.get_by_role("heading", level=1)).to_contain_text(
                "Minutes: Data platform, gate G0"
            )
            expect(dave.locator(".minutes")).to_contain_text("sha256:9f2c41")
            expect(dave.locator(".minutes")).to_contain_text("Agreed, with the DPIA.")
            expect(dave.locator(".minutes")).to_contain_text("Complete the DPIA")
            shot(dave, "decision-record")
            dave.emulate_media(media="print")
            expect(dave.locator("header.top")).to_be_hidden()
            black = "e => getComputedStyle(e).color"
            assert dave.locator(".minutes .muted").first.evaluate(black) == "rgb(0, 0, 0)"
            assert dave.locator(".minutes .badge").first.evaluate(black) == "rgb(0, 0, 0)"
            shot(dave, "decision-record-print")
            dave.emulate_media(media="screen")
            # the change request: the tolerance bar and the vote form
            dave.goto(api.origin + f"/change-requests/{cr}")
            expect(
                dave.get_by_role("img", name="cost tolerance: 0% used, 100% asked by this request")
            ).to_be_visible()
            dave.get_by_label("Approve").check()
            dave.get_by_label("Rationale").fill("Worth it for the rollout.")
            dave.get_by_role("button", name="Cast vote").click()
            expect(dave.get_by_role("status")).to_have_text("Your vote is recorded.")
            expect(dave.locator(".votes")).to_contain_text("dave")
            shot(dave, "change-request")

            # reads with JavaScript off: the as-of form works as a plain GET
            quiet = sign_in(browser, api, "dave", timeline, java_script_enabled=False)
            quiet.get_by_label("At position").fill("2")
            quiet.get_by_role("button", name="Show").click()
            expect(quiet.locator("#state-h")).to_have_text("As it stood at position 2")
            expect(quiet.locator(".timeline time").first).to_contain_text("UTC")

            # the sponsor signs off
            sam = sign_in(browser, api, "sam", f"/signoffs/{so}")
            expect(sam.get_by_role("heading", level=1)).to_have_text("Sign-off: Business case v2.1")
            expect(sam.locator("code.hash").first).to_have_text("sha256:5e1f00d")
            sam.get_by_label("Comment").fill("Numbers checked against v2.1.")
            sam.get_by_role("button", name="Sign Business case v2.1").click()
            expect(sam.get_by_role("status")).to_have_text("Your signature is recorded.")
            shot(sam, "signoff")

            # the chair: the portfolio, by stage; at phone width too
            carol = sign_in(browser, api, "carol", f"/portfolios/{portfolio}")
            expect(carol.locator(".columns")).to_contain_text("Data platform")
            expect(carol.locator(".columns")).to_contain_text("Web shop")
            expect(
                carol.get_by_role("img", name="budget committed: 50% of the envelope")
            ).to_be_visible()
            shot(carol, "portfolio")
            phone = sign_in(
                browser,
                api,
                "carol",
                f"/portfolios/{portfolio}",
                viewport={"width": 390, "height": 800},
            )
            expect(phone.locator(".columns")).to_contain_text("Web shop")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the portfolio scrolls sideways at phone width ({width}px)"
            shot(phone, "portfolio-phone")

            # the auditor: filters, then an export of what they show
            audrey = sign_in(browser, api, "audrey", "/auditor", "auditor")
            expect(audrey.get_by_role("heading", level=1)).to_have_text("Audit trail")
            audrey.get_by_label("Actor").fill("dave")
            audrey.get_by_role("button", name="Apply filters").click()
            rows = audrey.locator("table.trail tbody tr")
            expect(rows.first).to_be_visible()
            for text in rows.all_inner_texts():
                assert "dave" in text
            expect(audrey.locator("table.trail")).not_to_contain_text("erin")
            shown = rows.count()
            with audrey.expect_download() as download:
                audrey.get_by_role("link", name="Export CSV").click()
            exported = Path(download.value.path()).read_text()
            lines = list(csv.DictReader(io.StringIO(exported)))
            assert len(lines) == shown and {line["actor"] for line in lines} == {"dave"}
            audrey.get_by_label("Verify the chain from").select_option("0")
            audrey.get_by_role("button", name="Verify").click()
            expect(audrey.get_by_role("status")).to_contain_text("Intact.")
            shot(audrey, "auditor")

            # the PMO: a project on hold, with the reason
            adam = sign_in(browser, api, "adam", "/admin", "pmo_admin")
            expect(adam.get_by_role("heading", level=1)).to_have_text("Administration")
            adam.get_by_label("Administer a project").select_option(
                label="Web shop (proposed, PM paula)"
            )
            adam.get_by_role("button", name="Open").click()
            adam.locator("#hold-reason").fill("Waiting for the platform's first release.")
            adam.get_by_role("button", name="Put on hold").click()
            expect(adam.get_by_role("status")).to_have_text("The project is on hold.")
            shot(adam, "administration")
        finally:
            browser.close()

    # what the pages did is in the log, with its rationale, comment and reason
    audit = api.call("GET", "/audit/events?limit=500", "audrey", None, "auditor")["items"]
    said = {(e["type"], e["actor"]): e["rationale"] for e in audit}
    assert said[("ChangeRequest.VoteCast", "dave")] == "Worth it for the rollout."
    assert said[("SignOff.Signed", "sam")] == "Numbers checked against v2.1."
    assert said[("Project.PutOnHold", "adam")] == "Waiting for the platform's first release."
    for name in (
        "project",
        "project-as-of",
        "decision-record",
        "change-request",
        "signoff",
        "portfolio",
        "auditor",
        "administration",
    ):
        assert (SHOTS / f"{name}.png").stat().st_size < 200_000, name  # small PNGs
