"""Every list and every history is paged the same way (issue 10 item 5): ``?limit=``
(1 to 500) and ``?after=`` (the ``next`` of the page before; null at the end)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.scenario import Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


def key(item: dict[str, Any]) -> Any:
    for name in ("id", "position", "subject_id"):
        if name in item:
            return (name, item[name], item.get("kind"), item.get("version"))
    return tuple(sorted(item.items()))


async def walk(api: Api, path: str, items: str, person: str, roles: tuple[str, ...]) -> list[Any]:
    """Every item, one per page, following ``next``."""
    seen: list[Any] = []
    cursor: str | None = ""
    sep = "&" if "?" in path else "?"
    while cursor is not None:
        r = await api.get(f"{path}{sep}limit=1&after={cursor}", person, *roles)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert len(body[items]) <= 1
        seen += [key(i) for i in body[items]]
        cursor = body["next"]
        assert len(seen) < 200, path
    return seen


async def test_every_list_and_history_pages_with_one_convention(api: Api) -> None:
    portfolio = await api.portfolio()
    await api.portfolio(name="Second")
    project = await api.project(portfolio)
    await api.project(portfolio, name="Other")
    await api.review(project)
    await api.vote(project, "dave")
    for title in ("One", "Two"):
        body = {
            "title": title,
            "description": "x",
            "cost_delta": {"amount": "10.00", "currency": "EUR"},
            "schedule_delta_days": 1,
        }
        assert (
            await api.post(f"/projects/{project}/change-requests", "paula", body)
        ).status_code == 201
        signoff = {
            "deliverable": title,
            "version": "1",
            "content_hash": "sha256:1",
            "signatories": ["carol"],
        }
        assert (
            await api.post(f"/projects/{project}/signoffs", "paula", signoff)
        ).status_code == 201
    for _ in range(2):
        assert (await api.post("/audit/checkpoints", "ann", {}, "auditor")).status_code == 201
        await api.vote(project, "erin", vote="reject")
        await api.vote(project, "erin", vote="approve")
    wait = f"min_position={api.last_position}"
    assert (await api.get(f"/me/inbox?{wait}", "carol", "auditor")).status_code == 200
    lists = [
        ("/portfolios", "items", "adam", ("pmo_admin",)),
        ("/projects", "items", "adam", ("pmo_admin",)),
        (f"/projects/{project}/history", "items", "paula", ()),
        (f"/projects/{project}/change-requests", "items", "paula", ()),
        (f"/projects/{project}/signoffs", "items", "paula", ()),
        ("/me/inbox", "items", "carol", ()),
        ("/audit/events", "items", "audrey", ("auditor",)),
        ("/audit/checkpoints", "checkpoints", "audrey", ("auditor",)),
    ]
    for path, items, person, roles in lists:
        r = await api.get(f"{path}?limit=500", person, *roles)
        assert r.status_code == 200, (path, r.text)
        whole = [key(i) for i in r.json()[items]]
        assert len(whole) >= 2, (path, whole)
        assert r.json()["next"] is None
        assert await walk(api, path, items, person, roles) == whole, path
        for bad in ("limit=0", "limit=501", "after=x", "after=-1", "after=\uff11"):
            r = await api.get(f"{path}?{bad}", person, *roles)
            assert r.status_code in (400, 422), (path, bad, r.status_code)
