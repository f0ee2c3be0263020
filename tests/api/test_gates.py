"""Gate reviews over HTTP: the happy path, rules as status codes, concurrency."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api
from workflows import gates
from workflows.errors import ConcurrencyConflict


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def test_a_gate_goes_from_review_to_go(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    for voter in ("dave", "erin"):
        r = await api.vote(project, voter)
        assert r.status_code == 200, r.text
    r = await api.decide(project, "GO")
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    state = await api.state(project)
    assert (state["status"], state["stage"], state["next_gate"]) == ("active", "Initiation", "G1")
    decision = state["decisions"][0]
    assert decision["decision"] == "GO" and decision["decided_by"]["person"] == "carol"
    assert decision["rationale"] == "board decided"
    assert sorted(v["voter"] for v in decision["votes"]) == ["dave", "erin"]


async def test_go_without_quorum_is_a_conflict_and_writes_nothing(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    await api.vote(project, "dave")
    before = await api.state(project)
    r = await api.decide(project, "GO")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "quorum" in r.json()["detail"].lower() or "approv" in r.json()["detail"].lower()
    assert (await api.state(project))["version"] == before["version"]


async def test_pm_cannot_vote_on_own_gate_review(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    r = await api.vote(project, "paula")
    assert r.status_code == 403
    assert r.json()["status"] == 403


async def test_only_the_chair_decides(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    await api.vote(project, "dave")
    await api.vote(project, "erin")
    r = await api.post(
        f"/projects/{project}/gates/G0/decision", "dave", {"decision": "GO", "rationale": "x"}
    )
    assert r.status_code == 403


async def test_conditional_go_blocks_next_gate_until_condition_closed(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    await api.vote(project, "dave")
    await api.vote(project, "erin")
    r = await api.decide(
        project,
        "CONDITIONAL_GO",
        conditions=[{"description": "Do the DPIA", "owner": "olga", "due": "2027-02-01"}],
    )
    assert r.status_code == 200, r.text
    (condition_id,) = r.json()["details"]["condition_ids"]
    state = await api.state(project)
    assert state["conditions"][0]["closed"] is False
    # G1 also needs sign-offs; the open condition is checked first and blocks on its own.
    blocked = await api.post(f"/projects/{project}/gates/G1/review", "paula", {"evidence": []})
    assert blocked.status_code == 409
    assert "condition" in blocked.json()["detail"].lower()
    wrong = await api.post(
        f"/projects/{project}/conditions/{condition_id}/close", "dave", {"note": "x"}
    )
    assert wrong.status_code == 403
    ok = await api.post(
        f"/projects/{project}/conditions/{condition_id}/close", "olga", {"note": "DPIA filed"}
    )
    assert ok.status_code == 200, ok.text
    assert (await api.state(project))["conditions"][0]["closed"] is True


async def test_votes_sent_together_are_all_recorded(api: Api) -> None:
    """The test client serves these one at a time; the real race (12 voters at the same
    moment) is tests/workflows/test_concurrent_commands.py."""
    portfolio = await api.portfolio(board={"members": [f"g{i}" for i in range(10)], "chair": "g0"})
    project = await api.project(portfolio)
    await api.review(project)
    answers = await asyncio.gather(*(api.vote(project, f"g{i}") for i in range(10)))
    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    state = await api.state(project)
    assert sorted(v["voter"] for v in state["review"]["votes"]) == sorted(
        f"g{i}" for i in range(10)
    )
    assert state["version"] == 2 + 10


async def test_if_match_with_stale_version_is_412_and_writes_nothing(api: Api) -> None:
    project = await api.project()
    review = await api.review(project)
    stale = review["version"] - 1
    r = await api.post(
        f"/projects/{project}/gates/G0/votes",
        "dave",
        {"vote": "approve", "rationale": "ok"},
        **{"If-Match": f'"{stale}"'},
    )
    assert r.status_code == 412
    assert (await api.state(project))["version"] == review["version"]
    r = await api.post(
        f"/projects/{project}/gates/G0/votes",
        "dave",
        {"vote": "approve", "rationale": "ok"},
        **{"If-Match": f'"{review["version"]}"'},
    )
    assert r.status_code == 200


async def test_idempotent_retry_returns_first_answer_and_writes_once(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    body = {"vote": "approve", "rationale": "ok"}
    path = f"/projects/{project}/gates/G0/votes"
    first = await api.post(path, "dave", body, **{"Idempotency-Key": "k-1"})
    again = await api.post(path, "dave", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    history = (await api.get(f"/projects/{project}/history")).json()["items"]
    assert [h["type"] for h in history].count("Project.VoteCast") == 1
    other = await api.post(path, "dave", {**body, "vote": "reject"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert (await api.state(project))["version"] == first.json()["version"]


async def test_retries_with_one_key_sent_together_write_once(api: Api) -> None:
    """Served one at a time by the test client; tests/workflows/test_concurrent_commands.py
    races one key for real."""
    project = await api.project()
    await api.review(project)
    path = f"/projects/{project}/gates/G0/votes"
    body = {"vote": "approve", "rationale": "ok"}
    answers = await asyncio.gather(
        *(api.post(path, "dave", body, **{"Idempotency-Key": "same"}) for _ in range(5))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["position"] for a in answers}) == 1
    history = (await api.get(f"/projects/{project}/history")).json()["items"]
    assert [h["type"] for h in history].count("Project.VoteCast") == 1


async def test_repeating_an_identical_vote_answers_as_the_first_and_writes_nothing(
    api: Api,
) -> None:
    project = await api.project()
    await api.review(project)
    first = await api.vote(project, "dave")
    again = await api.vote(project, "dave")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    changed = await api.vote(project, "dave", "reject")
    assert changed.json()["version"] == first.json()["version"] + 1
    types = [h["type"] for h in (await api.get(f"/projects/{project}/history")).json()["items"]]
    assert (types.count("Project.VoteCast"), types.count("Project.VoteChanged")) == (1, 1)


async def test_a_command_still_beaten_after_the_bounded_wait_is_409_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await api.project()
    await api.review(project)

    async def beaten(*_: Any, **__: Any) -> None:
        raise ConcurrencyConflict("too many concurrent changes to this resource; retry later")

    monkeypatch.setattr(gates, "cast_vote", beaten)
    r = await api.vote(project, "dave")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "1"
    assert r.json()["type"].endswith("/conflict")


async def test_as_of_by_position_and_by_time(api: Api) -> None:
    project = await api.project()
    created = await api.state(project)
    review = await api.review(project)
    await api.vote(project, "dave")
    by_position = await api.state(project, f"?as_of={review['position']}")
    assert by_position["review"] is not None and by_position["review"]["votes"] == []
    assert by_position["as_of_position"] == review["position"]
    at_creation = await api.state(project, f"?as_of={quote(created['modified_at'])}")
    assert at_creation["review"] is None and at_creation["version"] == 1
    before = await api.get(f"/projects/{project}?as_of=2000-01-01T00:00:00Z")
    assert before.status_code == 404
    bad = await api.get(f"/projects/{project}?as_of=yesterday")
    assert bad.status_code == 422


async def test_vote_can_be_changed_until_the_decision(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    await api.vote(project, "dave", "reject")
    await api.vote(project, "dave", "approve")
    await api.vote(project, "erin", "approve")
    assert (await api.decide(project, "GO")).status_code == 200
    late = await api.vote(project, "dave", "reject")
    assert late.status_code == 409
    history = [h["type"] for h in (await api.get(f"/projects/{project}/history")).json()["items"]]
    assert history.count("Project.VoteChanged") == 1


async def test_kill_cancels_the_project(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    assert (await api.decide(project, "KILL")).status_code == 200
    assert (await api.state(project))["status"] == "cancelled"
