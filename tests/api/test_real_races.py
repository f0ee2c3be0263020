"""Requests that really race: a uvicorn server in this process (the ``served`` fixture),
driven by an HTTP client that sends them all at once (litestar's test client would
serve them one at a time)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.scenario import Api

TWELVE = [f"member{i:02}" for i in range(12)]


async def test_twelve_board_members_voting_at_the_same_moment_all_get_200(served: Api) -> None:
    project = await served.project(
        await served.portfolio(board={"members": TWELVE, "chair": TWELVE[0]})
    )
    await served.review(project)
    answers = await asyncio.gather(*(served.vote(project, m) for m in TWELVE))
    assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers]
    state = await served.state(project)
    assert sorted(v["voter"] for v in state["review"]["votes"]) == TWELVE


async def test_fifty_identical_votes_at_the_same_moment_write_one_event(served: Api) -> None:
    project = await served.project()
    await served.review(project)
    answers = await asyncio.gather(*(served.vote(project, "dave") for _ in range(50)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    history: list[dict[str, Any]] = (await served.get(f"/projects/{project}/history")).json()[
        "items"
    ]
    types = [h["type"] for h in history]
    assert (types.count("Project.VoteCast"), types.count("Project.VoteChanged")) == (1, 0)


async def test_one_idempotency_key_sent_at_the_same_moment_gets_one_answer(served: Api) -> None:
    project = await served.project()
    path = f"/projects/{project}/gates/G0/review"
    body = {"evidence": [{"title": "Mandate", "content_hash": "sha256:abc"}]}
    answers = await asyncio.gather(
        *(served.post(path, "paula", body, **{"Idempotency-Key": "once"}) for _ in range(8))
    )
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    history = (await served.get(f"/projects/{project}/history")).json()["items"]
    assert [h["type"] for h in history].count("Project.ReviewRequested") == 1
