"""The database failing under a served ``gateledger serve`` (issue 14): answers are 2xx or
503 with Retry-After, never 500; nothing hangs; the server recovers by itself, without
a restart; and afterwards every 2xx answer's events are in the log exactly once,
nothing else is, the chain verifies and the read models catch up.

Each test runs against a private PostgreSQL cluster it may stop and cut
(tests/faults/cluster.py), never the shared one. About a minute in all.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from eventstore.schema import StoreNames
from tests.e2e.server import Server
from tests.faults.cluster import Cluster
from tests.faults.harness import (
    HEADERS,
    Load,
    assert_503_or_2xx_only,
    assert_read_models_caught_up,
    assert_recovered_without_restart,
    assert_the_log_holds_exactly_the_answers,
    drop,
    portfolio,
    served,
    under_load,
)
from tests.faults.proxy import CommitCutter


async def _check_after(
    server: Server,
    pg: Cluster,
    schema: str,
    load: Load | None,
    answers: list[dict[str, Any]] | None = None,
) -> None:
    head = await assert_the_log_holds_exactly_the_answers(pg.url, schema, load, answers=answers)
    await assert_read_models_caught_up(server, pg.url, schema, head)


async def _signed_past(pg: Cluster, names: StoreNames, position: int) -> None:
    """Wait (bounded) for a checkpoint past ``position`` (CHECKPOINT_EVERY=50)."""
    conn = await asyncpg.connect(pg.url)
    try:
        deadline = time.monotonic() + 20
        latest = None
        while time.monotonic() < deadline:
            latest = await conn.fetchval(f"SELECT max(position) FROM {names.q('gl_checkpoints')}")
            if latest is not None and latest > position:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"no checkpoint past {position} (latest {latest})")
    finally:
        await conn.close()


async def test_postgresql_stopped_in_immediate_mode_under_load_and_started_again(
    pg: Cluster, fault_schema: str, tmp_path: Path
) -> None:
    """A crash of PostgreSQL (``pg_ctl stop -m immediate``: no checkpoint, sessions
    killed) for 3 s while 8 clients create portfolios, then a start (crash recovery)."""
    try:
        with served(pg.url, fault_schema, tmp_path) as server:
            pid = server.process.pid
            down: list[float] = []
            restarted_at: list[int] = []
            names = StoreNames(schema=fault_schema)
            events = names.q(names.events)

            async def crash() -> None:
                await asyncio.to_thread(pg.stop, "immediate")
                down.append(time.monotonic())
                await asyncio.sleep(3)
                await asyncio.to_thread(pg.start)
                down.append(time.monotonic())
                conn = await asyncpg.connect(pg.url)
                try:
                    restarted_at.append(
                        await conn.fetchval(f"SELECT max(notification_id) FROM {events}")
                    )
                finally:
                    await conn.close()

            load = await under_load(server.api, crash, after=5)
            assert_503_or_2xx_only(load)
            statuses = load.statuses()
            assert statuses[503] > 0, "the clients never met the outage"
            assert statuses[201] > 20, statuses
            details = {d for c in load.commands for d in c.details}
            assert details, "503s say why"
            assert_recovered_without_restart(server, pid)
            await _check_after(server, pg, fault_schema, load)
            output = server.output()
            assert "projector lost its connection" in output  # and it resumed (caught up)
            # the checkpoint job resumed too: it signs a head written after the restart
            await _signed_past(pg, names, restarted_at[0] or 0)
    finally:
        await drop(pg.url, fault_schema)


async def test_connections_terminated_under_load(
    pg: Cluster, fault_schema: str, tmp_path: Path
) -> None:
    """Every session of the server killed by ``pg_terminate_backend`` three times while
    8 clients create portfolios: the pool drops the dead connections and opens new ones."""
    try:
        with served(pg.url, fault_schema, tmp_path) as server:
            pid = server.process.pid
            killed: list[int] = []

            async def terminate() -> None:
                conn = await asyncpg.connect(pg.url)
                try:
                    for _ in range(3):
                        killed.append(
                            await conn.fetchval(
                                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) "
                                "FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid() AND backend_type = 'client backend') t"
                            )
                        )
                        await asyncio.sleep(0.7)
                finally:
                    await conn.close()

            load = await under_load(server.api, terminate)
            assert min(killed) > 0, killed
            assert_503_or_2xx_only(load)
            assert load.statuses()[201] > 20
            assert_recovered_without_restart(server, pid)
            await _check_after(server, pg, fault_schema, load)
            assert "projector lost its connection" in server.output()
    finally:
        await drop(pg.url, fault_schema)


async def test_a_lock_holder_makes_the_command_answer_503_within_the_lock_timeout(
    pg: Cluster, fault_schema: str, tmp_path: Path
) -> None:
    """Another session holds the person's rate-limit row, then the events table: the
    command answers 503 (lock timeout, 1 s here) with Retry-After and writes nothing;
    reads go on meanwhile; retried with its key after the holder lets go it is written
    once."""
    names = StoreNames(schema=fault_schema)
    answers = []
    try:
        with served(pg.url, fault_schema, tmp_path, RATE_COMMANDS="100000") as server:
            async with httpx.AsyncClient(base_url=server.api, headers=HEADERS, timeout=30) as c:
                first = await c.post("/portfolios", json=portfolio(0))
                assert first.status_code == 201, first.text
                answers.append(first.json())
                holder = await asyncpg.connect(pg.url)
                try:
                    for lock in (
                        f"SELECT 1 FROM {names.q('gl_rate_limits')} WHERE person = 'admin' "
                        "FOR UPDATE",
                        f"LOCK TABLE {names.q(names.events)} IN EXCLUSIVE MODE",
                    ):
                        key = f"lock-{len(answers)}"
                        async with holder.transaction():
                            assert await holder.execute(lock)
                            started = time.monotonic()
                            r = await c.post(
                                "/portfolios",
                                json=portfolio(len(answers)),
                                headers={"Idempotency-Key": key},
                            )
                            took = time.monotonic() - started
                            assert r.status_code == 503, r.text
                            assert r.headers["retry-after"] == "2"
                            assert r.headers["content-type"].startswith("application/problem+json")
                            assert "lock timeout" in r.json()["detail"], r.json()
                            assert took < 3, took  # the lock timeout (1 s), not a hang
                            head = await holder.fetchval(
                                f"SELECT count(*) FROM {names.q(names.events)}"
                            )
                            assert head == len(answers), "a refused command wrote"
                            read = await c.get(f"/portfolios/{answers[0]['id']}")
                            assert read.status_code == 200, read.text  # reads still served
                        again = await c.post(
                            "/portfolios",
                            json=portfolio(len(answers)),
                            headers={"Idempotency-Key": key},
                        )
                        assert again.status_code == 201, again.text
                        answers.append(again.json())
                finally:
                    await holder.close()
            await _check_after(server, pg, fault_schema, None, answers)
    finally:
        await drop(pg.url, fault_schema)


async def test_an_exhausted_pool_answers_503_and_does_not_hang(
    pg: Cluster, fault_schema: str, tmp_path: Path
) -> None:
    """A pool of 3 connections (the projector holds one); another session holds the
    portfolios read model's table, so the reads that got a connection wait on it (the
    lock timeout, 2 s here) while every other request waits GATELEDGER_DB_ACQUIRE_TIMEOUT
    (0.5 s) for a connection and answers 503, commands included; none hangs, none
    writes; once the lock goes, everything is served again."""
    names = StoreNames(schema=fault_schema)
    env = {"DB_POOL_SIZE": "3", "DB_ACQUIRE_TIMEOUT": "0.5", "DB_LOCK_TIMEOUT": "2"}
    try:
        with served(pg.url, fault_schema, tmp_path, **env) as server:
            async with httpx.AsyncClient(base_url=server.api, headers=HEADERS, timeout=30) as c:
                holder = await asyncpg.connect(pg.url)
                try:
                    async with holder.transaction():
                        table = names.q("rm_portfolios")
                        await holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

                        async def call(n: int) -> tuple[str, int, str, float]:
                            started = time.monotonic()
                            if n < 8:
                                r = await c.get("/portfolios")
                            else:
                                await asyncio.sleep(0.2)  # once the reads took the pool
                                key = {"Idempotency-Key": f"pool-{n}"}
                                r = await c.post("/portfolios", json=portfolio(n), headers=key)
                            detail = r.json().get("detail", "") if r.status_code >= 400 else ""
                            took = time.monotonic() - started
                            return r.request.method, r.status_code, detail, took

                        results = await asyncio.gather(*(call(n) for n in range(10)))
                        written = await holder.fetchval(
                            f"SELECT count(*) FROM {names.q(names.events)}"
                        )
                    reads = [r for r in results if r[0] == "GET"]
                    assert {status for _, status, _, _ in reads} == {503}, results
                    assert {status for _, status, _, _ in results} <= {201, 503}, results
                    assert max(took for *_, took in results) < 4, results  # nothing hangs
                    exhausted = [d for _, _, d, _ in results if "no database connection" in d]
                    assert len(exhausted) >= 5, results
                    assert any("lock timeout" in d for _, _, d, _ in reads), results
                    created = sum(1 for _, status, _, _ in results if status == 201)
                    assert written == created, "a refused command wrote"
                finally:
                    await holder.close()
                answers = []
                for n in (8, 9):
                    key = {"Idempotency-Key": f"pool-{n}"}
                    r = await c.post("/portfolios", json=portfolio(n), headers=key)
                    assert r.status_code == 201, r.text
                    answers.append(r.json())
                listed = await c.get(f"/portfolios?min_position={answers[-1]['position']}")
                assert listed.status_code == 200, listed.text
            await _check_after(server, pg, fault_schema, None, answers)
    finally:
        await drop(pg.url, fault_schema)


async def test_a_lost_commit_acknowledgement_is_answered_on_retry_with_the_first_answer(
    pg: Cluster, fault_schema: str, tmp_path: Path
) -> None:
    """The server reaches PostgreSQL through a proxy that, armed, cuts the connection the
    moment PostgreSQL acknowledges a COMMIT (tests/faults/proxy.py): the command's
    transaction is committed but the server never hears it, and answers 503. The
    client retries with its Idempotency-Key and gets the first answer (the committed
    idempotency record's), with exactly one event in the log.

    The server behind the proxy runs no background job (projector, checkpoints), so the
    only transaction committing is the command's; a second server, straight on the
    database, projects afterwards."""
    cutter = CommitCutter(pg.port)
    names = StoreNames(schema=fault_schema)
    try:
        with cutter.running():
            url = f"postgresql://postgres@127.0.0.1:{cutter.port}/postgres"
            quiet = {"PROJECTOR": "off", "CHECKPOINTS": "off"}
            with served(url, fault_schema, tmp_path / "a", **quiet) as server:
                async with httpx.AsyncClient(base_url=server.api, headers=HEADERS, timeout=30) as c:
                    warm = await c.post("/portfolios", json=portfolio(0))
                    assert warm.status_code == 201, warm.text
                    cutter.armed.set()
                    key = {"Idempotency-Key": "lost-ack"}
                    lost = await c.post("/portfolios", json=portfolio(1), headers=key)
                    assert cutter.cuts == 1
                    assert lost.status_code == 503, lost.text
                    assert lost.headers["retry-after"] == "2"
                    conn = await asyncpg.connect(pg.url)
                    try:  # committed all the same
                        count = f"SELECT count(*) FROM {names.q(names.events)}"
                        assert await conn.fetchval(count) == 2
                        retried = await c.post("/portfolios", json=portfolio(1), headers=key)
                        assert retried.status_code == 201, retried.text
                        again = await c.post("/portfolios", json=portfolio(1), headers=key)
                        assert again.json() == retried.json()
                        assert await conn.fetchval(count) == 2  # exactly one event for it
                        stored = await conn.fetchval(
                            f"SELECT convert_from(response, 'UTF8')::jsonb->>'id' "
                            f"FROM {names.q('gl_idempotency')} WHERE key = 'lost-ack'"
                        )
                    finally:
                        await conn.close()
                    assert stored == retried.json()["id"]  # the first answer, as recorded
                answers = [warm.json(), retried.json()]
        tmp = tmp_path / "b"
        with served(pg.url, fault_schema, tmp) as direct:
            await _check_after(direct, pg, fault_schema, None, answers)
    finally:
        await drop(pg.url, fault_schema)
