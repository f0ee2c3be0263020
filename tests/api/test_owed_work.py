"""Owed work over HTTP: an open condition is in its owner's inbox; evidence for a
signed-off deliverable must carry the hash that was signed off (else 422, nothing
written)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.scheduler import escalate_once
from api.settings import Settings
from eventstore.database import Store
from tests.api.scenario import Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def passed_g0(api: Api, decision: str = "GO", **extra: Any) -> str:
    project = await api.project()
    await api.review(project)
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter)).status_code == 200
    r = await api.decide(project, decision, **extra)
    assert r.status_code == 200, r.text
    return project


async def test_the_owner_of_an_open_condition_sees_it_in_their_inbox(api: Api) -> None:
    condition = {"description": "Do the DPIA", "owner": "olga", "due": "2027-02-01"}
    project = await passed_g0(api, "CONDITIONAL_GO", conditions=[condition])
    r = await api.get(f"/me/inbox?min_position={api.last_position}", "olga")
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert (item["kind"], item["due"], item["project_id"]) == ("condition", "2027-02-01", project)
    assert "Do the DPIA" in item["title"]


async def test_evidence_with_another_hash_than_the_signed_off_one_is_422(api: Api) -> None:
    project = await passed_g0(api)
    body = {"deliverable": "Business case", "version": "1", "content_hash": "sha256:bc1"}
    r = await api.post(f"/projects/{project}/signoffs", "paula", {**body, "signatories": ["sam"]})
    assert r.status_code == 201, r.text
    r = await api.post(f"/signoffs/{r.json()['id']}/sign", "sam", {"comment": "fine"})
    assert r.status_code == 200, r.text
    before = (await api.state(project))["version"]
    wrong = {"evidence": [{"title": "Business case", "content_hash": "sha256:other"}]}
    r = await api.post(f"/projects/{project}/gates/G1/review", "paula", wrong)
    assert r.status_code == 422, r.text
    assert "sha256:bc1" in r.json()["detail"] and "Business case" in r.json()["detail"]
    assert (await api.state(project))["version"] == before
    right = {"evidence": [{"title": "Business case", "content_hash": "sha256:bc1"}]}
    r = await api.post(f"/projects/{project}/gates/G1/review", "paula", right)
    assert r.status_code == 200, r.text


async def test_an_overdue_condition_is_escalated_to_the_chair_who_sees_it(
    api: Api, store: Store
) -> None:
    condition = {"description": "Do the DPIA", "owner": "olga", "due": "2027-02-01"}
    project = await passed_g0(api, "CONDITIONAL_GO", conditions=[condition])
    later = datetime(2027, 3, 1, 9, tzinfo=UTC)
    # the escalation job reads the inbox: let it catch up with the decision first
    r = await api.get(f"/me/inbox?min_position={api.last_position}", "olga")
    assert [i["escalated"] for i in r.json()["items"] if i["project_id"] == project] == [False]
    assert await escalate_once(store, later) >= 1  # the database is shared: others too
    head = await store.events.max_notification_id()
    r = await api.get(f"/me/inbox?min_position={head}", "olga")
    (owed,) = [i for i in r.json()["items"] if i["project_id"] == project]
    # (overdue is as of the server's today; the job ran with a later fixed clock)
    assert (owed["kind"], owed["escalated"]) == ("condition", True)
    r = await api.get(f"/me/inbox?min_position={head}", "carol")
    (sent,) = [
        i for i in r.json()["items"] if i["kind"] == "escalated" and i["project_id"] == project
    ]
    assert (sent["project_id"], sent["due"]) == (project, "2027-02-01")
    assert "condition of olga" in sent["title"]
