"""Owed work over HTTP: an open condition is in its owner's inbox; evidence for a
signed-off deliverable must carry the hash that was signed off (else 422, nothing
written)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
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
