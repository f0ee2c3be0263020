"""A read model that set events aside: /health is 503 and names them, reads of the objects
concerned say so, reads of the others and ?min_position= waits are not held up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from eventstore.database import Store
from projections.engine import set_aside_retry
from projections.engine.events import Change
from projections.engine.projector import Projector
from projections.engine.tracking import read_position
from projections.folds import HANDLERS
from projections.registry import all_projections
from tests.api.conftest import app_settings
from tests.api.scenario import Api


@pytest.fixture
def settings(database_url: str, schema_name: str, tmp_path: Path) -> Settings:
    """No projector in the app: the test runs one itself, with the handlers poisoned."""
    return app_settings(database_url, schema_name, tmp_path, run_projector=False)


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


def poison(monkeypatch: pytest.MonkeyPatch, key: str, position: int) -> None:
    real = HANDLERS[key]

    def poisoned(batch: object, change: Change) -> None:
        if change.position == position:
            raise ValueError(f"poisoned {key} at {position}")
        real(batch, change)  # type: ignore[arg-type]

    monkeypatch.setitem(HANDLERS, key, poisoned)


async def project_all(store: Store) -> None:
    """Run a projector (one failed try per batch) until every read model is at the head."""
    projector = Projector(store, all_projections(), attempts=1, retry_delay=0.0)
    head = await store.events.max_notification_id() or 0
    async with store.pool.acquire() as conn:
        for _ in range(20):
            await projector.catch_up(conn)
            reached = [await read_position(conn, store.names, p.name) for p in all_projections()]
            if min(reached) >= head:
                return
    raise AssertionError(f"stuck at {reached} of {head}")


async def test_set_aside_events_turn_health_503_and_reads_say_so_until_retried(
    api: Api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(``store`` is the app's schema, on the test's own event loop.)"""
    voted = await api.project()
    await project_all(store)  # commands wait for the access model to know the PM
    await api.review(voted)
    vote = (await api.vote(voted, "dave")).json()["position"]
    other = await api.project()
    lost = await api.project()
    created = api.last_position
    poison(monkeypatch, "Project.VoteCast", vote)
    poison(monkeypatch, "Project.Created", created)
    await project_all(store)

    r = await api.client.get("/health")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "degraded" and body["position"] == api.last_position
    named = {(e["projection"], e["position"]): e for e in body["set_aside"]}
    # both read models that fold project events (projects, inbox) set each one aside
    assert set(named) == {(m, p) for m in ("projects", "inbox") for p in (vote, created)}
    assert "poisoned Project.VoteCast" in named["projects", vote]["error"]
    assert named["inbox", vote]["aggregate_id"] == voted

    r = await api.get(f"/projects/{voted}?min_position={api.last_position}")  # no 503 wait
    assert (
        r.status_code == 200
        and r.headers["Gateledger-Set-Aside"] == f"inbox:{vote}, projects:{vote}"
    )
    r = await api.get(f"/projects/{other}")
    assert r.status_code == 200 and "Gateledger-Set-Aside" not in r.headers
    r = await api.get(f"/projects/{lost}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem")
    assert r.json()["type"].endswith("set-aside") and str(created) in r.json()["detail"]

    monkeypatch.undo()  # the fix
    assert all(x.error is None for x in await set_aside_retry.retry(store, all_projections()))
    r = await api.client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert (await api.get(f"/projects/{lost}")).status_code == 200
    r = await api.get(f"/projects/{voted}")
    assert "Gateledger-Set-Aside" not in r.headers
    assert r.json()["review"]["votes"] == [{"voter": "dave", "vote": "approve"}]
