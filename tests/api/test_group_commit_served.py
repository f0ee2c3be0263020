"""Commands from real parallel clients share group commits: every acknowledged command
is in the log exactly once, where its answer says, with its Idempotency-Key's record
beside it; a stale If-Match fails alone; the hash chain verifies afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from eventstore.schema import StoreNames
from eventstore.verify import verify_chain
from tests.api.scenario import Api

MEMBERS = [f"member{i:02}" for i in range(8)]
PROJECTS = 4


async def test_parallel_votes_land_once_each_where_answered_and_the_chain_verifies(
    served: Api, database_url: str
) -> None:
    portfolio = await served.portfolio(board={"members": MEMBERS, "chair": MEMBERS[0]})
    projects = [await served.project(portfolio) for _ in range(PROJECTS)]
    for project in projects:
        await served.review(project)

    async def vote(project: str, member: str, **headers: str) -> Any:
        path = f"/projects/{project}/gates/G0/votes"
        body = {"vote": "approve", "rationale": f"{member} approves"}
        while True:  # 409 says "retry later" (too many concurrent changes): as a client does
            answer = await served.post(path, member, body, **headers)
            if answer.status_code != 409:
                return answer
            await asyncio.sleep(0.1)

    keyed = [(p, m) for p in projects for m in MEMBERS]  # 32 votes, each with its key
    n = len(keyed)
    sends = [vote(p, m, **{"Idempotency-Key": f"{p}-{m}"}) for p, m in keyed]
    sends += [vote(p, m, **{"Idempotency-Key": f"{p}-{m}"}) for p, m in keyed[::3]]  # again
    # stale: each project is past version 2 (created, review requested) once any vote lands
    stale = [vote(p, "member00", **{"If-Match": '"1"'}) for p in projects]
    answers = await asyncio.gather(*sends, *stale)

    again = len(keyed[::3])
    firsts, repeats, stales = answers[:n], answers[n : n + again], answers[n + again :]
    assert [a.status_code for a in firsts + repeats] == [200] * (n + again), [
        a.text for a in answers
    ]
    assert [a.status_code for a in stales] == [412] * PROJECTS
    by_key = {f"{p}-{m}": a.json() for (p, m), a in zip(keyed, firsts, strict=True)}
    for (p, m), again in zip(keyed[::3], repeats, strict=True):
        assert again.json() == by_key[f"{p}-{m}"]  # the first answer, replayed

    conn = await asyncpg.connect(database_url)
    names = StoreNames(schema=served.settings.schema)
    try:
        rows = await conn.fetch(
            f"SELECT notification_id, originator_id, originator_version FROM "
            f"{names.q('stored_events')} ORDER BY notification_id"
        )
        records = {
            r["key"]: r["position"]
            for r in await conn.fetch(f"SELECT key, position FROM {names.q('gl_idempotency')}")
        }
    finally:
        await conn.close()
    # gapless, and each acknowledged vote is the one event at the position it was told
    assert [r["notification_id"] for r in rows] == list(range(1, len(rows) + 1))
    at = {r["notification_id"]: (str(r["originator_id"]), r["originator_version"]) for r in rows}
    positions = [a["position"] for a in by_key.values()]
    assert len(set(positions)) == n
    for answer in by_key.values():
        assert at[answer["position"]] == (answer["id"], answer["version"])
    # the portfolio, and each project created, its review requested and its votes
    assert len(rows) == 1 + PROJECTS * (2 + len(MEMBERS))
    # every key's record is stored, at its command's position
    assert {k: records[k] for k in by_key} == {k: a["position"] for k, a in by_key.items()}

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        chain = await verify_chain(pool, names)
    finally:
        await pool.close()
    assert chain.intact, chain
