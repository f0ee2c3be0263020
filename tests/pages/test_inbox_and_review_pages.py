"""The inbox and gate review pages over HTTP: what they list, what a refused form says,
the assets' cache headers and the pages' security headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from api.pages.render import VERSIONS, asset_url
from tests.pages.conftest import Room
from tests.pages.test_sessions import _head


async def test_the_inbox_lists_overdue_first_and_what_a_delegate_owes_for_whom(
    room: Room,
) -> None:
    api = room.api
    # a second project whose conditional go left dave a condition due long ago
    other = await api.project(name="Warehouse")
    await api.review(other)
    for voter in ("dave", "erin"):
        assert (await api.vote(other, voter)).status_code == 200
    condition = {"description": "File the risk log", "owner": "dave", "due": "2020-01-02"}
    r = await api.decide(other, "CONDITIONAL_GO", conditions=[condition])
    assert r.status_code == 200, r.text
    ends = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    r = await api.post("/delegations", "dave", {"delegate": "dan", "ends": ends})
    assert r.status_code == 201, r.text
    await api.state(room.project)  # the inbox holds all of it
    dave = room.browser()
    await dave.sign_in("dave")
    page = (await dave.get("/inbox")).text
    titles = re.findall(r'class="what"[^>]*>([^<]+)<', page)
    assert titles[0] == "Warehouse: condition of G0: File the risk log", titles
    assert "CRM: G0 Mandate review" in titles
    assert "1 overdue" in page and 'class="late">overdue' in page
    dan = room.browser()
    await dan.sign_in("dan")
    page = (await dan.get("/inbox")).text
    review = f"/projects/{room.project}/review"
    assert f'href="{review}">CRM: G0 Mandate review<' in page
    assert "for dave" in page and "File the risk log" not in page  # a condition is not delegated
    # on the review, dan votes for dave, and the vote says who cast it for whom
    form = (await dan.get(review)).text
    assert '<option value="dave"' in form
    vote = {"gate": "G0", "vote": "approve", "rationale": "For dave: fine", "on_behalf_of": "dave"}
    r = await dan.post(f"{review}/vote", {**vote, "csrf": dan.csrf(form)})
    assert r.status_code == 303, r.text
    shown = (await dan.get(review)).text
    assert "cast by dan for dave" in shown and "For dave: fine" in shown


async def test_a_refused_form_shows_the_apis_message_and_writes_nothing(room: Room) -> None:
    dave = room.browser()
    await dave.sign_in("dave")
    review = f"/projects/{room.project}/review"
    token = dave.csrf((await dave.get(review)).text)
    before = await _head(room)
    r = await dave.post(
        f"{review}/vote", {"gate": "G0", "vote": "approve", "rationale": "", "csrf": token}
    )
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert "rationale" in r.text and "Nothing was recorded" in r.text
    # a vote on a gate that is not under review: the domain's refusal, as the API says it
    r = await dave.post(
        f"{review}/vote", {"gate": "G3", "vote": "approve", "rationale": "x", "csrf": token}
    )
    api = await room.api.post(
        f"/projects/{room.project}/gates/G3/votes", "dave", {"vote": "approve", "rationale": "x"}
    )
    assert r.status_code == api.status_code >= 400
    detail = api.json()["detail"]
    assert detail.replace("'", "&#39;") in r.text or detail in r.text
    assert await _head(room) == before
    # a chair's decision that the domain refuses keeps what was sent in the form
    carol = room.browser()
    await carol.sign_in("carol")
    token = carol.csrf((await carol.get(review)).text)
    sent = {"gate": "G0", "decision": "GO", "rationale": "Ship it", "csrf": token}
    r = await carol.post(f"{review}/decide", sent)
    assert r.status_code >= 400 and "Ship it</textarea>" in r.text
    assert await _head(room) == before


async def test_assets_are_kept_for_good_under_their_hash_and_pages_are_not(room: Room) -> None:
    browser = room.browser()
    r = await browser.get(asset_url("pages.css"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    cache = r.headers["cache-control"]
    assert "immutable" in cache and "max-age=31536000" in cache
    r = await browser.get(asset_url("pages.js"))
    assert r.headers["content-type"].startswith("text/javascript")
    stale = await browser.get(f"/static/{'0' * 12}/pages.css")
    assert stale.status_code == 404
    assert len(VERSIONS["pages.css"]) == 12
    await browser.sign_in("dave")
    page = await browser.get("/inbox")
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<script src="/static/' in page.text and "<script>" not in page.text


async def test_a_long_inbox_comes_in_pages_counted_whole(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy gatekeeper's inbox is paged (100 items a page; 2 here): the count and the
    overdue count are of every item, and the pages together list each item once."""
    import api.pages.inbox as inbox_page

    monkeypatch.setattr(inbox_page, "PAGE_SIZE", 2)
    api = room.api
    for name in ("Second", "Third"):
        project = await api.project(name=name)
        await api.review(project)
    await api.state(room.project)
    dave = room.browser()
    await dave.sign_in("dave")
    first = (await dave.get("/inbox")).text
    assert "3 items waiting for you" in first and "(here 1 to 2)" in first
    assert 'href="/inbox?offset=2">Later items' in first and "Earlier items" not in first
    second = (await dave.get("/inbox?offset=2")).text
    assert "(here 3 to 3)" in second and 'href="/inbox">← Earlier items' in second
    assert "Later items" not in second
    titles = [re.findall(r'class="what"[^>]*>([^<]+)<', page) for page in (first, second)]
    listed = titles[0] + titles[1]
    assert len(listed) == 3 and len(set(listed)) == 3, titles
    assert {t.partition(":")[0] for t in listed} == {"CRM", "Second", "Third"}
    r = await dave.get("/inbox?offset=-1")
    assert r.status_code == 422 and "offset" in r.text, r.text
