"""Reads from the read models over HTTP: portfolio view, lists, inbox, audit, export."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.stored_names import STORED_NAMES
from eventstore.database import open_store
from eventstore.schema import StoreNames
from projections.engine.projector import apply_batch
from projections.registry import all_projections
from tests.api.conftest import app_settings
from tests.api.scenario import Api


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def test_portfolio_view_counts_projects_budget_and_pending_decisions(api: Api) -> None:
    portfolio = await api.portfolio()
    first = await api.project(portfolio)
    await api.project(portfolio, name="Second")
    await api.review(first)
    await api.vote(first, "dave")
    r = await api.get(f"/portfolios/{portfolio}?min_position={api.last_position}")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["projects"] == {
        "total": 2,
        "by_stage": {"Proposal": 2},
        "by_status": {"proposed": 2},
    }
    assert view["budget"]["baseline_total"] == {"amount": "500000.00", "currency": "EUR"}
    assert view["budget"]["envelope"]["amount"] == "1000000.00"
    # erin and carol (a board member too) owe votes; carol, the chair, owes the decision.
    assert view["decisions"] == {"pending": 3, "overdue": 0}
    listed = (await api.get("/portfolios")).json()["items"]
    assert [p["id"] for p in listed] == [portfolio]


async def test_project_list_filters_and_paginates(api: Api) -> None:
    portfolio = await api.portfolio()
    ids = [await api.project(portfolio, name=f"P{i}") for i in range(5)]
    await api.review(ids[0])
    await api.vote(ids[0], "dave")
    await api.vote(ids[0], "erin")
    await api.decide(ids[0], "GO")
    q = f"min_position={api.last_position}"
    active = (await api.get(f"/projects?status=active&{q}")).json()
    assert [p["id"] for p in active["items"]] == [ids[0]] and active["next"] is None
    staged = (await api.get(f"/projects?stage=Proposal&portfolio_id={portfolio}")).json()
    assert len(staged["items"]) == 4
    page1 = (await api.get("/projects?limit=2")).json()
    page2 = (await api.get(f"/projects?limit=2&after={page1['next']}")).json()
    page3 = (await api.get(f"/projects?limit=2&after={page2['next']}")).json()
    seen = [p["id"] for p in page1["items"] + page2["items"] + page3["items"]]
    assert seen == ids and page3["next"] is None
    assert (await api.get("/projects?limit=501")).status_code == 422
    assert (await api.get("/projects?after=abc")).status_code == 422


async def test_inbox_shows_pending_votes_and_decisions_until_done(api: Api) -> None:
    project = await api.project()
    await api.review(project)

    async def inbox(person: str) -> list[dict[str, Any]]:
        r = await api.client.get(
            f"/me/inbox?min_position={api.last_position}", headers=api.auth(person)
        )
        assert r.status_code == 200, r.text
        return r.json()["items"]

    dave = await inbox("dave")
    assert [(i["kind"], i["project_id"]) for i in dave] == [("vote", project)]
    assert dave[0]["due"] and dave[0]["overdue"] is False
    assert sorted(i["kind"] for i in await inbox("carol")) == ["decision", "vote"]
    first = await api.client.get("/me/inbox?limit=1", headers=api.auth("carol"))
    second = await api.client.get(
        f"/me/inbox?limit=1&after={first.json()['next']}", headers=api.auth("carol")
    )
    kinds = [first.json()["items"][0]["kind"], second.json()["items"][0]["kind"]]
    assert sorted(kinds) == ["decision", "vote"] and second.json()["next"] is None
    assert await inbox("paula") == []  # the requester owes nothing on her own review
    await api.vote(project, "dave")
    assert await inbox("dave") == []
    await api.vote(project, "erin")
    await api.decide(project, "GO")
    assert await inbox("carol") == []


async def test_audit_trail_filters_and_cursor(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    await api.vote(project, "dave")
    await api.vote(project, "erin")
    base = f"/audit/events?min_position={api.last_position}"
    everything = (await api.get(base)).json()["items"]
    assert [e["type"] for e in everything][-2:] == ["Project.VoteCast", "Project.VoteCast"]
    assert everything[-1]["summary"] == "erin voted approve on G0"
    mine = (await api.get(f"{base}&project_id={project}&actor=dave")).json()["items"]
    assert [e["type"] for e in mine] == ["Project.VoteCast"]
    portfolio = (await api.state(project))["portfolio_id"]
    assert {e["portfolio_id"] for e in everything} == {portfolio}  # every event, not only creation
    window = (
        await api.get(
            f"{base}&from={everything[2]['at'].replace('+', '%2B')}&type=Project.VoteCast"
        )
    ).json()["items"]
    assert len(window) == 2
    page = (await api.get(f"{base}&limit=2")).json()
    rest = (await api.get(f"{base}&limit=500&after={page['next']}")).json()
    assert [e["position"] for e in page["items"] + rest["items"]] == [
        e["position"] for e in everything
    ]
    forbidden = await api.client.get("/audit/events", headers=api.auth("dave"))
    assert forbidden.status_code == 403


async def test_export_streams_ndjson_and_csv_to_auditors(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    r = await api.get(f"/audit/export?format=ndjson&min_position={api.last_position}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [msgspec.json.decode(x) for x in r.content.splitlines()]
    assert [x["type"] for x in lines] == [
        "Portfolio.Created",
        "Project.Created",
        "Project.ReviewRequested",
    ]
    r = await api.get("/audit/export?format=csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["actor"] for x in rows] == ["admin", "admin", "paula"]
    assert (await api.get("/audit/export?format=xml")).status_code == 422
    past_the_end = await api.get(f"/audit/export?min_position={api.last_position + 1}")
    assert past_the_end.status_code == 422
    denied = await api.client.get("/audit/export", headers=api.auth("admin", "pmo_admin"))
    assert denied.status_code == 403


async def test_min_position_waits_for_the_projector_then_times_out(
    database_url: str, schema_name: str, tmp_path: Path
) -> None:
    settings = app_settings(
        database_url, schema_name, tmp_path, run_projector=False, min_position_wait_s=0.3
    )
    async with AsyncTestClient(create_app(settings), base_url="http://t.local/api/v1") as c:
        api = Api(c, settings)
        portfolio = await api.portfolio()
        r = await api.get(f"/portfolios/{portfolio}?min_position={api.last_position}")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.json()["status"] == 503
        # A position no command handed out yet is a mistake, answered at once.
        late = await api.get(f"/portfolios/{portfolio}?min_position={api.last_position + 1}")
        assert late.status_code == 422 and "past the end of the log" in late.json()["detail"]
        # Without min_position the read answers at once from what is projected (nothing).
        assert (await api.get(f"/portfolios/{portfolio}")).status_code == 404
        # A projector that catches up while the read waits lets it answer.
        object.__setattr__(c.app.state.settings, "min_position_wait_s", 5.0)

        async def project_later() -> None:
            await asyncio.sleep(0.2)
            store = await open_store(
                database_url,
                StoreNames(schema=schema_name),
                stored_names=STORED_NAMES,
                max_size=2,
            )
            async with store.pool.acquire() as conn:
                for p in all_projections():
                    await apply_batch(conn, store, p)
            await store.close()

        # The test client blocks this loop while it waits: project from another thread.
        worker = threading.Thread(target=lambda: asyncio.run(project_later()))
        worker.start()
        r = await api.get(f"/portfolios/{portfolio}?min_position={api.last_position}")
        worker.join()
        assert r.status_code == 200, r.text
    import asyncpg

    from eventstore.schema import drop_schema

    conn = await asyncpg.connect(database_url)
    await drop_schema(conn, schema_name)
    await conn.close()


async def test_portfolio_view_as_of_a_position(api: Api) -> None:
    portfolio = await api.portfolio()
    first = await api.project(portfolio)
    before_second = api.last_position
    second = await api.project(portfolio, name="Second")
    await api.review(second)
    now = (await api.get(f"/portfolios/{portfolio}?min_position={api.last_position}")).json()
    assert now["projects"]["total"] == 2 and now["decisions"]["pending"] > 0
    then = (await api.get(f"/portfolios/{portfolio}?as_of={before_second}")).json()
    assert then["projects"]["total"] == 1 and then["decisions"]["pending"] == 0
    assert then["as_of_position"] == before_second and first
    gone = await api.get(f"/portfolios/{portfolio}?as_of=2000-01-01T00:00:00Z")
    assert gone.status_code == 404
