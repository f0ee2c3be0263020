"""Two real ``gateledger serve`` processes on one store take commands on the same
aggregates at once: each process caches the aggregates it loads and group-commits its
own commands, and still every acknowledged command is in the log once, where its answer
says, each vote's last acknowledged value is what the project holds, ids stay gapless
and the chain verifies."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from api.auth import mint_token
from api.settings import Settings
from domain.stored_names import STORED_NAMES
from eventstore.database import open_store
from eventstore.loader import load_aggregate
from eventstore.schema import StoreNames
from eventstore.verify import verify_chain
from tests.api.processes import serving
from tests.conftest import drop_store_schema
from tests.e2e.server import SECRET, Server

MEMBERS = [f"member{i}" for i in range(5)]
PROJECTS = 3
ROUNDS = 8  # votes each member sends on each project, alternately to each server


@pytest.fixture
def two_servers(database_url: str, schema_name: str, tmp_path: Path) -> Iterator[list[Server]]:
    try:
        with serving(database_url, schema_name, tmp_path, 2) as servers:
            yield servers
    finally:
        asyncio.run(drop_store_schema(database_url, schema_name))


def bearer(person: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(Settings(jwt_secret=SECRET), person, roles)}"}


async def _created(client: httpx.AsyncClient, url: str, body: Any, who: dict[str, str]) -> str:
    r = await client.post(url, json=body, headers=who)
    assert r.status_code in (200, 201), r.text
    answer: str = r.json()["id"]
    return answer


async def test_two_servers_taking_votes_on_the_same_projects_lose_and_double_nothing(
    two_servers: list[Server], database_url: str, schema_name: str
) -> None:
    one, two = two_servers
    admin = bearer("admin", "pmo_admin")
    async with httpx.AsyncClient(timeout=60) as client:
        portfolio = await _created(
            client,
            one.api + "/portfolios",
            {
                "name": "Two",
                "objectives": ["o"],
                "envelope": {"amount": "1000000.00", "currency": "EUR"},
                "board": {"members": MEMBERS, "chair": MEMBERS[0]},
            },
            admin,
        )
        projects = []
        for i in range(PROJECTS):
            body = {
                "portfolio_id": portfolio,
                "name": f"P{i}",
                "pm": "paula",
                "sponsor": "sam",
                "baseline": {
                    "budget": {"amount": "1000.00", "currency": "EUR"},
                    "start": "2027-01-01",
                    "end": "2027-12-31",
                    "scope": "s",
                },
                "tolerances": {"cost_pct": "10", "schedule_days": 30},
            }
            project = await _created(client, two.api + "/projects", body, admin)
            review = {"evidence": [{"title": "Mandate", "content_hash": "sha256:abc"}]}
            r = await client.post(
                f"{one.api}/projects/{project}/gates/G0/review",
                json=review,
                headers=bearer("paula"),
            )
            assert r.status_code == 200, r.text
            projects.append(project)

        rnd = random.Random(14)

        async def member(project: str, who: str) -> list[tuple[str, dict[str, Any]]]:
            """A member's votes, one after another, each to the other server."""
            acked = []
            for n in range(ROUNDS):
                server = (one, two)[n % 2]
                vote = rnd.choice(("approve", "reject", "abstain"))
                while True:  # as a client does: 409 is "retry later", with the same key
                    r = await client.post(
                        f"{server.api}/projects/{project}/gates/G0/votes",
                        json={"vote": vote, "rationale": f"{who} round {n}"},
                        headers={**bearer(who), "Idempotency-Key": f"{project}-{who}-{n}"},
                    )
                    if r.status_code != 409:
                        break
                    await asyncio.sleep(rnd.uniform(0.05, 0.3))
                assert r.status_code == 200, r.text
                acked.append((vote, r.json()))
            return acked

        runs = [(p, m) for p in projects for m in MEMBERS]
        results = await asyncio.gather(*(member(p, m) for p, m in runs))

    names = StoreNames(schema=schema_name)
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT notification_id, originator_id, originator_version FROM "
            f"{names.q('stored_events')} ORDER BY notification_id"
        )
    finally:
        await conn.close()
    assert [r["notification_id"] for r in rows] == list(range(1, len(rows) + 1))
    at = {r["notification_id"]: (str(r["originator_id"]), r["originator_version"]) for r in rows}
    answers = [a for acked in results for _, a in acked]
    assert len({a["position"] for a in answers}) == len(answers) == len(runs) * ROUNDS
    for a in answers:
        assert at[a["position"]] == (a["id"], a["version"])
    # the portfolio, and per project: created, review requested, and one event per vote
    assert len(rows) == 1 + PROJECTS * 2 + len(answers)
    # each member's last acknowledged vote is the one the project holds: no lost update
    store = await open_store(database_url, names, stored_names=STORED_NAMES, max_size=2)
    try:
        for (p, who), acked in zip(runs, results, strict=True):
            last_vote, _ = max(acked, key=lambda va: va[1]["position"])
            held = await load_aggregate(store, UUID(p))
            assert held is not None
            assert held.review.vote_of(who).vote.value == last_vote
    finally:
        await store.close()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        chain = await verify_chain(pool, names)
    finally:
        await pool.close()
    assert chain.intact, chain
