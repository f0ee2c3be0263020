"""Sign-in links, sessions and CSRF on the pages (issue 13)."""

from __future__ import annotations

import asyncpg

from api.pages.sessions import mint_link
from tests.pages.conftest import BASE, Room


async def _head(room: Room) -> int:
    conn = await asyncpg.connect(room.database_url)
    try:
        return int(
            await conn.fetchval(f'SELECT max(notification_id) FROM "{room.schema}".stored_events')
        )
    finally:
        await conn.close()


async def test_a_link_signs_in_once_and_leads_where_it_says(room: Room) -> None:
    review = f"/projects/{room.project}/review"
    url = mint_link(room.settings, BASE, "dave", to=review)
    token = url.partition("token=")[2]
    browser = room.browser()
    shown = await browser.get(f"/sign-in/link?token={token}")
    assert shown.status_code == 200 and "Sign in as dave" in shown.text
    r = await browser.post("/sign-in/link", {"token": token})
    assert r.status_code == 303 and r.headers["location"] == review
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    page = await browser.get(review)
    assert page.status_code == 200 and "Your vote" in page.text
    # the same link again, from another browser: refused, no session
    other = room.browser()
    again = await other.post("/sign-in/link", {"token": token})
    assert again.status_code == 400 and "used already" in again.text
    assert other.cookie is None
    shown = await other.get(f"/sign-in/link?token={token}")
    assert shown.status_code == 400 and "used already" in shown.text


async def test_an_expired_or_forged_link_signs_no_one_in(room: Room) -> None:
    browser = room.browser()
    expired = mint_link(room.settings, BASE, "dave", ttl_s=1).partition("token=")[2]
    import asyncio

    await asyncio.sleep(2.1)
    r = await browser.post("/sign-in/link", {"token": expired})
    assert r.status_code == 400 and "expired" in r.text and browser.cookie is None
    forged = expired[:-4] + ("AAAA" if not expired.endswith("AAAA") else "BBBB")
    r = await browser.post("/sign-in/link", {"token": forged})
    assert r.status_code == 400 and "not a valid sign-in link" in r.text
    # an API token is not a link, and a link is not an API token
    api_token = room.api.auth("dave")["Authorization"].partition(" ")[2]
    r = await browser.post("/sign-in/link", {"token": api_token})
    assert r.status_code == 400 and browser.cookie is None
    link = mint_link(room.settings, BASE, "dave").partition("token=")[2]
    r = await room.client.get("/me/inbox", headers={"Authorization": f"Bearer {link}"})
    assert r.status_code == 401


async def test_signed_out_visitors_are_sent_to_the_sign_in_page(room: Room) -> None:
    browser = room.browser()
    review = f"/projects/{room.project}/review"
    r = await browser.get(review)
    assert r.status_code == 303
    assert r.headers["location"] == f"/sign-in?next={review}"
    page = await browser.get(r.headers["location"])
    assert page.status_code == 200 and "gateledger link YOUR-ID --to " + review in page.text


async def test_a_form_post_without_the_csrf_token_is_refused_and_writes_nothing(
    room: Room,
) -> None:
    browser = room.browser()
    await browser.sign_in("dave")
    review = f"/projects/{room.project}/review"
    page = await browser.get(review)
    token = browser.csrf(page.text)
    before = await _head(room)
    vote = {"gate": "G0", "vote": "approve", "rationale": "Looks right"}
    for sent in (vote, {**vote, "csrf": "not-the-token"}, {**vote, "csrf": ""}):
        r = await browser.post(f"{review}/vote", sent)
        assert r.status_code == 403, r.text
        assert "anti-forgery token" in r.text and "Nothing was changed" in r.text
        assert await _head(room) == before
    # the token of another session is not this session's
    other = room.browser()
    await other.sign_in("erin")
    theirs = other.csrf((await other.get(review)).text)
    assert theirs != token
    r = await browser.post(f"{review}/vote", {**vote, "csrf": theirs})
    assert r.status_code == 403 and await _head(room) == before
    # with it, the vote is recorded
    r = await browser.post(f"{review}/vote", {**vote, "csrf": token})
    assert r.status_code == 303, r.text
    assert await _head(room) == before + 1
    state = await room.api.state(room.project, f"?min_position={before + 1}")
    assert state["review"]["votes"] == [{"voter": "dave", "vote": "approve"}]


async def test_signing_out_ends_the_session(room: Room) -> None:
    browser = room.browser()
    await browser.sign_in("dave")
    page = await browser.get("/inbox")
    assert page.status_code == 200 and "Signed in as" in page.text
    cookie = browser.cookie
    r = await browser.post("/sign-out", {"csrf": "wrong"})
    assert r.status_code == 403  # signing out is a form too
    r = await browser.post("/sign-out", {"csrf": browser.csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?signed_out=1"
    assert browser.cookie is None
    # the old cookie no longer signs anyone in, even if a copy was kept
    browser.cookie = cookie
    r = await browser.get("/inbox")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")


async def test_a_bearer_token_works_on_pages_and_its_forms_need_the_token_too(
    room: Room,
) -> None:
    browser = room.browser()
    review = f"/projects/{room.project}/review"
    auth = room.api.auth("dave")
    page = await browser.get(review, headers=auth)
    assert page.status_code == 200 and "Your vote" in page.text
    before = await _head(room)
    vote = {"gate": "G0", "vote": "reject", "rationale": "Not yet"}
    r = await browser.post(f"{review}/vote", vote, headers=auth)
    assert r.status_code == 403 and await _head(room) == before
    r = await browser.post(
        f"{review}/vote", {**vote, "csrf": browser.csrf(page.text)}, headers=auth
    )
    assert r.status_code == 303 and await _head(room) == before + 1


async def test_outsiders_get_404_as_in_the_api(room: Room) -> None:
    browser = room.browser()
    await browser.sign_in("nina")
    review = f"/projects/{room.project}/review"
    r = await browser.get(review)
    assert r.status_code == 404 and "Not found" in r.text
    assert r.headers["content-type"].startswith("text/html")
    page = await browser.get("/inbox")
    before = await _head(room)
    r = await browser.post(
        f"{review}/vote",
        {"gate": "G0", "vote": "approve", "rationale": "x", "csrf": browser.csrf(page.text)},
    )
    assert r.status_code == 404 and await _head(room) == before


async def test_the_cookie_is_secure_over_tls(room: Room) -> None:
    token = mint_link(room.settings, BASE, "dave").partition("token=")[2]
    r = await room.client.post(
        "https://testserver.local/sign-in/link", data={"token": token}, follow_redirects=False
    )
    room.client.cookies.clear()
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


async def test_an_expired_session_signs_no_one_in(room: Room) -> None:
    browser = room.browser()
    await browser.sign_in("dave")
    assert (await browser.get("/inbox")).status_code == 200
    conn = await asyncpg.connect(room.database_url)
    try:
        await conn.execute(
            f"UPDATE \"{room.schema}\".gl_page_sessions SET expires = now() - interval '1 s' "
            "WHERE person = 'dave'"
        )
    finally:
        await conn.close()
    r = await browser.get("/inbox")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=/inbox"
