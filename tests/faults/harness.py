"""What the fault tests share: a served ``gateledger serve`` on the private cluster, a load
of concurrent commands from another process's point of view (the test's own event
loop; the server is a process of its own), and the checks every fault test ends with.

The load's clients behave as the API asks a client to: each command carries an
Idempotency-Key, and a 503 is retried with the same key until it gets its answer. So
at the end every command has exactly one 2xx answer, and the log must hold exactly
the events those answers name: a commit whose acknowledgement was lost (the client saw
503, the database kept it) is answered on the retry with the first answer, never
written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from api.auth import mint_token
from api.settings import Settings
from eventstore.database import init_connection
from eventstore.schema import StoreNames
from eventstore.verify import verify_chain
from tests.api import processes
from tests.e2e.server import SECRET, Server

ADMIN = mint_token(Settings(jwt_secret=SECRET), "admin", ["pmo_admin"])
HEADERS = {"Authorization": f"Bearer {ADMIN}"}

# Short bounds, so that faults show within the tests' seconds.
FAULT_ENV = {
    "RATE_COMMANDS": "off",
    "RATE_EXPENSIVE": "off",
    "DB_ACQUIRE_TIMEOUT": "1",
    "DB_LOCK_TIMEOUT": "1",
    "DB_STATEMENT_TIMEOUT": "10",
    "MIN_POSITION_WAIT": "2",
    "CHECKPOINT_EVERY": "50",
    "WEBHOOKS": "off",
    "READY_MAX_LAG": "0",
}


def portfolio(n: int) -> dict[str, Any]:
    return {
        "name": f"Portfolio {n}",
        "objectives": ["Keep the record"],
        "envelope": {"amount": "1000.00", "currency": "EUR"},
        "board": {"members": ["carol", "dave", "erin"], "chair": "carol"},
    }


@contextlib.contextmanager
def served(url: str, schema: str, data_dir: Path, **env: str) -> Iterator[Server]:
    """One ``gateledger serve`` on ``url``'s database, in ``schema``, healthy; stopped
    (SIGTERM) afterwards."""
    with processes.serving(url, schema, data_dir, 1, **(FAULT_ENV | env)) as servers:
        yield servers[0]


@dataclass
class Command:
    """One command as a client saw it: every answer it got, in order."""

    key: str
    n: int
    statuses: list[int] = field(default_factory=list)
    answer: dict[str, Any] | None = None  # the 2xx body
    details: list[str] = field(default_factory=list)  # the 5xx problems' details


@dataclass
class Load:
    """``clients`` concurrent clients, each creating portfolios one after another (a 503
    retried with the same Idempotency-Key) and reading each back, until ``stop``."""

    api: str
    clients: int = 8
    commands: list[Command] = field(default_factory=list)
    reads: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # no answer at all (timeouts)

    async def run(self, stop: asyncio.Event, *, retry_for: float = 60.0) -> None:
        limits = httpx.Limits(max_connections=self.clients * 2)
        async with httpx.AsyncClient(
            base_url=self.api, headers=HEADERS, timeout=30, limits=limits
        ) as client:
            await asyncio.gather(
                *(self._client(client, stop, retry_for) for _ in range(self.clients))
            )

    async def _client(
        self, client: httpx.AsyncClient, stop: asyncio.Event, retry_for: float
    ) -> None:
        while not stop.is_set():
            command = Command(str(uuid.uuid4()), len(self.commands))
            self.commands.append(command)
            deadline = time.monotonic() + retry_for
            while command.answer is None and time.monotonic() < deadline:
                try:
                    r = await client.post(
                        "/portfolios",
                        json=portfolio(command.n),
                        headers={"Idempotency-Key": command.key},
                    )
                except httpx.HTTPError as exc:  # no answer: the server must always answer
                    self.failures.append(f"POST {command.key}: {type(exc).__name__} {exc}")
                    await asyncio.sleep(0.2)
                    continue
                command.statuses.append(r.status_code)
                if r.status_code < 300:
                    command.answer = r.json()
                elif r.status_code >= 500:
                    command.details.append(r.json().get("detail", ""))
                    await asyncio.sleep(0.1)
                else:
                    break  # a refusal: the checks report it
            if command.answer is not None:
                await self._read(client, command.answer)

    async def _read(self, client: httpx.AsyncClient, answer: dict[str, Any]) -> None:
        try:
            r = await client.get(f"/portfolios/{answer['id']}?min_position={answer['position']}")
        except httpx.HTTPError as exc:
            self.failures.append(f"GET {answer['id']}: {type(exc).__name__} {exc}")
            return
        self.reads[r.status_code] += 1

    def statuses(self) -> Counter[int]:
        return Counter(s for c in self.commands for s in c.statuses)


async def under_load(api: str, fault: Any, *, before: float = 2.0, after: float = 4.0) -> Load:
    """Run the load, call ``fault()`` (a coroutine function) ``before`` seconds in, let
    the load go on ``after`` seconds after it returns, then stop the clients (each
    still retrying gets its answer first)."""
    load = Load(api)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run(stop))
    await asyncio.sleep(before)
    await fault()
    await asyncio.sleep(after)
    stop.set()
    await asyncio.wait_for(running, 120)
    return load


def assert_503_or_2xx_only(load: Load) -> None:
    """Every answer a 2xx or a 503, never a 500; every command answered in the end; every
    read 200 or 503; the server always answered."""
    statuses = load.statuses()
    assert not load.failures, load.failures[:5]
    assert set(statuses) <= {201, 503}, statuses
    unanswered = [c for c in load.commands if c.answer is None]
    assert not unanswered, [(c.key, c.statuses) for c in unanswered[:5]]
    assert set(load.reads) <= {200, 503}, load.reads


async def assert_the_log_holds_exactly_the_answers(
    url: str, schema: str, load: Load | None, *, answers: list[dict[str, Any]] | None = None
) -> int:
    """Each 2xx answer's portfolio is in the log once, with exactly the answer's events,
    and nothing else is; the hash chain verifies to the head. Returns the head."""
    answered = list(answers or []) + ([c.answer for c in load.commands if c.answer] if load else [])
    ids = [a["id"] for a in answered]
    assert len(ids) == len(set(ids)), "an id answered to two commands"
    names = StoreNames(schema=schema)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2, init=init_connection)
    try:
        rows = await pool.fetch(
            f"SELECT originator_id::text, count(*), max(originator_version), "
            f"min(notification_id) FROM {names.q(names.events)} GROUP BY originator_id"
        )
        in_log = {r[0]: (r[1], r[2], r[3]) for r in rows}
        assert set(in_log) == set(ids), (
            f"{len(set(in_log) - set(ids))} in the log unanswered, "
            f"{len(set(ids) - set(in_log))} answered but not in the log"
        )
        for a in answered:
            count, version, _ = in_log[a["id"]]
            assert count == version == a["version"], (a, count, version)
        head = await pool.fetchval(f"SELECT max(notification_id) FROM {names.q(names.events)}")
        total = await pool.fetchval(f"SELECT count(*) FROM {names.q(names.events)}")
        assert total == sum(v[0] for v in in_log.values())
        report = await verify_chain(pool, names)
        assert report.intact, report.to_json()
        assert report.head_position == (head or 0), report.to_json()
        return int(head or 0)
    finally:
        await pool.close()


async def assert_read_models_caught_up(server: Server, url: str, schema: str, head: int) -> None:
    """/readyz (GATELEDGER_READY_MAX_LAG=0) says ready, every read model at ``head``,
    and the portfolios read model holds every portfolio of the log."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=server.api, timeout=10) as client:
        while True:
            r = await client.get("/readyz")
            if r.status_code == 200:
                break
            assert time.monotonic() < deadline, r.text
            await asyncio.sleep(0.2)
    ready = r.json()
    assert ready["position"] == head
    assert all(m["position"] == head for m in ready["read_models"]), ready
    names = StoreNames(schema=schema)
    conn = await asyncpg.connect(url)
    try:
        projected = await conn.fetchval(f"SELECT count(*) FROM {names.q('rm_portfolios')}")
        created = await conn.fetchval(
            f"SELECT count(DISTINCT originator_id) FROM {names.q(names.events)}"
        )
        assert projected == created
    finally:
        await conn.close()


def assert_recovered_without_restart(server: Server, pid: int) -> None:
    """The same server process, still serving, healthy; it never answered 500."""
    assert server.process.pid == pid and server.process.poll() is None
    status, body = server.call("GET", "/health")
    assert status == 200, body
    output = server.output()
    assert "unhandled error" not in output, output[-3000:]


async def drop(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
