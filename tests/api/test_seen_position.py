"""Every decision records the position its deciders saw (issue 12, decision context):
the server fills in the log's head when the client sends none; a client's value lies
between the review's request and the head, else 422 and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api
from tests.api.test_valid_values import assert_refused, head


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def test_a_decision_without_seen_position_records_the_head_when_taken(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    before = await head(api)
    r = await api.decide(project, "HOLD")
    assert r.status_code == 200, r.text
    body = (await api.get(f"/projects/{project}/gates/G0/decisions/1")).json()
    assert body["decision"]["seen_position"] is not None
    assert before is not None and before <= body["decision"]["seen_position"]
    assert body["decision"]["seen_position"] < r.json()["position"]


async def test_a_seen_position_before_the_review_request_is_422_and_writes_nothing(
    api: Api,
) -> None:
    project = await api.project()
    requested = (await api.review(project))["position"]
    before = await head(api)
    r = await api.decide(project, "HOLD", seen_position=requested - 1)
    await assert_refused(api, r, before, "seen_position", "before the review's request")
    r = await api.decide(project, "HOLD", seen_position=requested)
    assert r.status_code == 200, r.text


async def test_a_seen_position_before_a_second_review_request_is_422(api: Api) -> None:
    project = await api.project()
    first = (await api.review(project))["position"]
    assert (await api.decide(project, "HOLD")).status_code == 200
    await api.review(project)
    before = await head(api)
    r = await api.decide(project, "HOLD", seen_position=first)
    await assert_refused(api, r, before, "seen_position")


async def test_a_seen_position_past_the_head_is_422_and_writes_nothing(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    before = await head(api)
    assert before is not None
    r = await api.decide(project, "HOLD", seen_position=before + 1)
    await assert_refused(api, r, before, "seen_position", "past the log's head")
