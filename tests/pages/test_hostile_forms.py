"""Forms sent by hand, not by the page: values the page's own form never sends must be
refused with the API's kind of problem and write nothing (never a 500, never a
decision that differs from what was sent)."""

from __future__ import annotations

from urllib.parse import urlencode

from api.pages.sessions import mint_link
from tests.pages.conftest import BASE, Browser, Room
from tests.pages.test_sessions import _head


async def _chair_ready(room: Room) -> tuple[str, str, Browser]:
    """The G0 review with its quorum met; the chair's review page, CSRF token and browser."""
    for voter in ("dave", "erin"):
        assert (await room.api.vote(room.project, voter)).status_code == 200
    carol = room.browser()
    await carol.sign_in("carol")
    review = f"/projects/{room.project}/review"
    token = carol.csrf((await carol.get(review)).text)
    return review, token, carol


async def test_condition_rows_cut_short_or_sent_as_files_are_refused(room: Room) -> None:
    review, token, carol = await _chair_ready(room)
    before = await _head(room)
    base = [
        ("csrf", token),
        ("gate", "G0"),
        ("decision", "CONDITIONAL_GO"),
        ("rationale", "Go, with conditions"),
    ]
    # two descriptions, one owner and one due date: the second condition would be lost
    cut_short = [
        *base,
        ("condition_description", "Sign the contract"),
        ("condition_description", "Hire the team"),
        ("condition_owner", "dave"),
        ("condition_due", "2030-03-01"),
    ]
    r = await carol.request("POST", f"{review}/decide", content=_encoded(cut_short), headers=_FORM)
    assert r.status_code == 422, r.text
    assert "not whole rows" in r.text and 'role="alert"' in r.text
    # a condition's description sent as a file (multipart) is a refusal, not a 500
    r = await carol.request(
        "POST",
        f"{review}/decide",
        data=dict(base),
        files={"condition_description": ("c.txt", b"Sign the contract", "text/plain")},
    )
    assert r.status_code == 422, r.text
    assert await _head(room) == before


async def test_a_seen_position_the_api_refuses_is_refused_not_dropped(room: Room) -> None:
    review, token, carol = await _chair_ready(room)
    before = await _head(room)
    for seen in ("-3", "abc", "1.5"):
        sent = {
            "csrf": token,
            "gate": "G0",
            "decision": "GO",
            "rationale": "Ship it",
            "seen_position": seen,
        }
        r = await carol.post(f"{review}/decide", sent)
        assert r.status_code == 422, (seen, r.text)
        assert "seen_position" in r.text
    assert await _head(room) == before


_FORM = {"content-type": "application/x-www-form-urlencoded"}


def _encoded(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode(pairs).encode()


async def test_a_sign_in_posted_from_another_site_changes_no_session(room: Room) -> None:
    """Login CSRF: another site's form posting its own person's link would sign the
    visitor out and in as that person."""
    dave = room.browser()
    await dave.sign_in("dave")
    cookie = dave.cookie
    lure = mint_link(room.settings, BASE, "mallory").partition("token=")[2]
    r = await dave.post("/sign-in/link", {"token": lure}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403 and "another site" in r.text
    assert "set-cookie" not in r.headers and dave.cookie == cookie
    inbox = await dave.get("/inbox")
    assert inbox.status_code == 200 and "dave" in inbox.text and "mallory" not in inbox.text
    # the link was not spent: opened as a link is (same origin), it signs in
    mallory = room.browser()
    r = await mallory.post(
        "/sign-in/link", {"token": lure}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert r.status_code == 303 and mallory.cookie
