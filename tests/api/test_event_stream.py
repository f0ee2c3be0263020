"""Live updates over real HTTP (a served app): events arrive, filtered to what each
person sees; a dropped connection resumes with exactly the missed events; heartbeats;
the per-person cap; streams end when the server stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import app_settings
from tests.api.sse import Served, serving, stream


@pytest.fixture
async def served(database_url: str, schema_name: str, tmp_path: Path) -> AsyncIterator[Served]:
    settings = app_settings(
        database_url, schema_name, tmp_path, stream_heartbeat_s=0.3, streams_per_person=2
    )
    async with serving(settings, database_url) as s:
        yield s


def auth(s: Served, who: str, *roles: str) -> dict[str, str]:
    return s.api.auth(who, *roles)


async def audit_after(s: Served, position: int) -> list[dict[str, Any]]:
    """The audit trail after ``position`` (as the auditor reads it), up to the last command."""
    r = await s.api.client.get(
        f"/audit/events?after={position}&limit=500&min_position={s.api.last_position}",
        headers=auth(s, "audrey", "auditor"),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def head(s: Served) -> int:
    return (await audit_after(s, 0))[-1]["position"] if s.api.last_position else 0


async def test_events_arrive_filtered_to_what_each_person_sees(served: Served) -> None:
    s = served
    client = s.api.client
    await s.api.portfolio(name="Warm-up")  # the stream starts after this
    start = await head(s)
    async with (
        stream(client, auth(s, "audrey", "auditor")) as audrey,
        stream(client, auth(s, "bob")) as bob,
        stream(client, auth(s, "nina")) as nina,
    ):
        a = await s.api.portfolio()
        await s.api.project(a)
        b = await s.api.portfolio(name="Other", board={"members": ["bob", "bea"], "chair": "bob"})
        await s.api.project(b, name="Elsewhere", pm="quinn", sponsor="quentin")
        ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        r = await s.api.post("/delegations", "nina", {"delegate": "zed", "ends": ends})
        assert r.status_code == 201, r.text  # nina's own act: the events she sees
        trail = await audit_after(s, start)
        last = trail[-1]["position"]

        everything = await audrey.events_until(last)
        assert [m.position for m in everything] == [e["position"] for e in trail]
        first = everything[0].event
        assert first == {
            "position": trail[0]["position"],
            "type": "Portfolio.Created",
            "aggregate_type": "Portfolio",
            "aggregate_id": a,
            "project_id": None,
            "portfolio_id": a,
            "at": trail[0]["at"],
            "actor": "admin",
            "on_behalf_of": None,
            "summary": trail[0]["summary"],
        }
        assert "Digital" in first["summary"]

        in_b = [e["position"] for e in trail if e["portfolio_id"] == b]
        assert len(in_b) == 2  # the portfolio and its project
        got = await bob.events_until(in_b[-1])
        assert [m.position for m in got] == in_b
        assert {m.event["portfolio_id"] for m in got} == {b}

        hers = [e["position"] for e in trail if e["actor"] == "nina"]
        assert hers[-1] == last and len(hers) == len(trail) - 4  # not the 4 others
        mine = await nina.events_until(last)
        assert [m.position for m in mine] == hers
        assert mine[-1].event["type"] == "Delegation.Delegated"


async def test_a_dropped_connection_resumes_with_exactly_the_missed_events(
    served: Served,
) -> None:
    s = served
    client = s.api.client
    a = await s.api.portfolio()
    start = await head(s)
    async with stream(client, auth(s, "carol")) as carol:  # carol chairs A's board
        p = await s.api.project(a)
        await s.api.review(p)
        trail = await audit_after(s, start)
        seen = await carol.events_until(trail[-1]["position"])
    assert [m.position for m in seen] == [e["position"] for e in trail]
    resume_at = seen[-1].position
    # while carol is away: events on her portfolio, and one she may not see
    await s.api.vote(p, "dave")
    await s.api.portfolio(name="Hidden", board={"members": ["bob", "bea"], "chair": "bob"})
    await s.api.vote(p, "erin")
    missed = [e["position"] for e in await audit_after(s, resume_at) if e["portfolio_id"] == a]
    assert len(missed) == 2
    headers = {**auth(s, "carol"), "Last-Event-ID": str(resume_at)}
    async with stream(client, headers) as again:
        await s.api.vote(p, "carol")  # live, after the catch-up
        live = (await audit_after(s, missed[-1]))[-1]["position"]
        got = await again.events_until(live)
    assert [m.position for m in got] == [*missed, live]
    assert [m.event["type"] for m in got] == ["Project.VoteCast"] * 3

    # ?until= ends the stream once past that position: a bounded catch-up
    r = await client.get(
        f"/events/stream?after={resume_at}&until={missed[-1]}", headers=auth(s, "carol")
    )
    assert r.status_code == 200, r.text
    assert [int(line[4:]) for line in r.text.splitlines() if line.startswith("id: ")] == missed

    # ?after= does the same, for a client that cannot send the header
    async with stream(client, auth(s, "carol"), f"?after={resume_at}") as third:
        got = await third.events_until(live)
    assert [m.position for m in got] == [*missed, live]


async def test_heartbeats_keep_a_quiet_stream_open(served: Served) -> None:
    async with stream(served.api.client, auth(served, "nina")) as nina:
        comments: list[str] = []
        started = asyncio.get_running_loop().time()
        while comments.count("heartbeat") < 3:
            message = await nina.next(within_s=5)
            assert message is not None and "id" not in message
            comments += message["comments"]
        took = asyncio.get_running_loop().time() - started
    assert comments[0] == "gateledger events"
    assert 0.5 < took < 5  # every 0.3 s here


async def test_a_person_may_hold_only_so_many_streams(served: Served) -> None:
    s = served
    client = s.api.client
    async with stream(client, auth(s, "nina")), stream(client, auth(s, "nina")) as second:
        r = await client.get("/events/stream", headers=auth(s, "nina"))
        assert r.status_code == 429, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "GATELEDGER_STREAMS_PER_PERSON" in r.json()["detail"]
        await second.next()
        async with stream(client, auth(s, "bob")) as bob:  # others are not held up
            assert await bob.next() is not None
    # the closed streams are released (the server notices the disconnect)
    for _ in range(100):
        async with client.stream("GET", "/events/stream", headers=auth(s, "nina")) as r:
            if r.status_code == 200:
                break
        await asyncio.sleep(0.05)
    assert r.status_code == 200


async def test_a_bad_last_event_id_is_refused(served: Served) -> None:
    headers = {**auth(served, "nina"), "Last-Event-ID": "12abc"}
    r = await served.api.client.get("/events/stream", headers=headers)
    assert r.status_code == 422, r.text
    assert "Last-Event-ID" in r.json()["detail"]
    r = await served.api.client.get("/events/stream?after=-1", headers=auth(served, "nina"))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["key"] == "after"
    # a position the log never reached: the events until it would be skipped
    r = await served.api.client.get("/events/stream?after=999999", headers=auth(served, "nina"))
    assert r.status_code == 422 and "past the end of the log" in r.json()["detail"], r.text
    headers = {**auth(served, "nina"), "Last-Event-ID": "999999"}
    r = await served.api.client.get("/events/stream", headers=headers)
    assert r.status_code == 422 and "past the end of the log" in r.json()["detail"], r.text


async def test_open_streams_end_when_the_server_stops(served: Served) -> None:
    s = served
    async with (
        httpx.AsyncClient(base_url=s.base, timeout=30) as other,
        stream(other, auth(s, "nina")) as nina,
    ):
        assert await nina.next() is not None  # open
        stopping = asyncio.get_running_loop().time()
        await s.stop(within_s=10)  # without the streams ending, uvicorn would wait on them
        while (message := await nina.next(within_s=5)) is not None:
            assert "id" not in message
        assert asyncio.get_running_loop().time() - stopping < 5
