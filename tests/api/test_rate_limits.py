"""Per-person rate limits kept in PostgreSQL (api/limits.py): exact when charges race
over many connections, a sensible Retry-After, per person and per bucket, pruned, and
writable by the restricted serving role."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from api import limits
from api.errors import ProblemError
from api.settings import Settings
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from eventstore.schema import StoreNames, quote_ident
from eventstore.verify import verify_chain
from tests.conftest import drop_store_schema

LIMITS = Settings(jwt_secret="s", rate_commands=5, rate_expensive=3)


@pytest.fixture
async def limited(store: Store) -> Store:
    await limits.prepare(store)
    return store


async def charges(store: Store, settings: Settings, person: str, bucket: str, n: int) -> list:
    """``n`` charges at the same moment, each on a pooled connection of its own; each
    result is None (let through) or the ProblemError."""

    async def one() -> ProblemError | None:
        try:
            await limits.charge(store, settings, person, bucket)
        except ProblemError as refused:
            return refused
        return None

    return await asyncio.gather(*(one() for _ in range(n)))


async def test_a_person_gets_exactly_the_limit_when_charges_race(
    limited: Store, database_url: str
) -> None:
    # Hold the person's first row uncommitted until 30 charges, each on a connection of
    # its own, wait on it in PostgreSQL; then let them all go at once.
    blocker = await asyncpg.connect(database_url)
    try:
        async with blocker.transaction():
            await blocker.execute(
                f"INSERT INTO {limited.names.q(limits.TABLE)} VALUES ('paula', 'command', "
                "now() - interval '1 hour', 0)"
            )
            racing = asyncio.ensure_future(charges(limited, LIMITS, "paula", "command", 30))
            await _until_waiting(blocker, 30)
        results = await racing
    finally:
        await blocker.close()
    refused = [r for r in results if r is not None]
    assert len(refused) == 25  # exactly 5 of 30 let through
    for problem in refused:
        assert (problem.status, problem.slug) == (429, "rate-limited")
        # 5 a minute: the next one in 12 s, as a whole number of seconds
        assert problem.headers["Retry-After"] in ("11", "12"), problem.headers
        assert "too many commands: at most 5 a minute per person" in problem.detail


async def _until_waiting(conn: asyncpg.Connection, n: int) -> None:
    """Until ``n`` other backends wait for a lock on the rate limits' table."""
    for _ in range(1000):
        await conn.execute("SELECT pg_stat_clear_snapshot()")  # a transaction keeps its view
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%gl_rate_limits%' AND pid <> pg_backend_pid()"
        )
        if waiting >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {waiting} of {n} charges reached PostgreSQL")


async def test_retry_after_is_when_the_next_request_is_let_through(limited: Store) -> None:
    settings = replace(LIMITS, rate_commands=60)  # one a second, 60 at once
    results = await charges(limited, settings, "paula", "command", 61)
    (refused,) = [r for r in results if r is not None]
    assert refused.headers["Retry-After"] == "1"
    async with limited.pool.acquire() as conn:  # a second passes
        await conn.execute(f"UPDATE {limited.names.q(limits.TABLE)} SET tat = tat - interval '1 s'")
    await limits.charge(limited, settings, "paula", "command")  # let through again
    with pytest.raises(ProblemError):  # and one only
        await limits.charge(limited, settings, "paula", "command")


async def test_one_persons_limit_leaves_other_people_and_buckets_alone(limited: Store) -> None:
    await charges(limited, LIMITS, "paula", "command", 5)
    with pytest.raises(ProblemError):
        await limits.charge(limited, LIMITS, "paula", "command")
    await limits.charge(limited, LIMITS, "dave", "command")
    results = await charges(limited, LIMITS, "paula", "expensive", 4)
    assert [r is None for r in results].count(True) == 3
    assert "too many expensive reads: at most 3 a minute" in next(r for r in results if r).detail


async def test_a_limit_of_zero_is_off_and_writes_nothing(limited: Store) -> None:
    off = replace(LIMITS, rate_commands=0)
    assert await charges(limited, off, "paula", "command", 50) == [None] * 50
    async with limited.pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {limited.names.q(limits.TABLE)}") == 0


async def test_an_unknown_bucket_is_a_programming_error(limited: Store) -> None:
    with pytest.raises(ValueError, match="unknown rate-limit bucket 'reads'"):
        await limits.charge(limited, LIMITS, "paula", "reads")


async def test_rows_whose_time_has_passed_are_pruned(
    limited: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = limited.names.q(limits.TABLE)
    for person in ("ann", "bob", "cid"):
        await limits.charge(limited, LIMITS, person, "command")
    async with limited.pool.acquire() as conn:
        await conn.execute(f"UPDATE {table} SET tat = now() - interval '1 s' WHERE person <> 'cid'")
    monkeypatch.setattr(limits, "_next_prune", {})
    await limits.charge(limited, LIMITS, "ann", "command")  # due: prunes bob, not ann
    await limits.charge(limited, LIMITS, "dan", "command")  # not due again for a minute
    async with limited.pool.acquire() as conn:
        await conn.execute(f"UPDATE {table} SET tat = now() - interval '1 s'")
        rows = await conn.fetch(f"SELECT person FROM {table} ORDER BY person")
    assert [r["person"] for r in rows] == ["ann", "cid", "dan"]


@pytest.fixture
async def role(database_url: str, schema_name: str) -> AsyncIterator[str]:
    name = f"gl_serving_{uuid.uuid4().hex[:8]}"
    yield name
    await drop_store_schema(database_url, schema_name)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP OWNED BY {quote_ident(name)}")
        await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")
    finally:
        await conn.close()


async def _open(url: str, schema: str, role: str | None) -> Store:
    names = StoreNames(schema=schema)
    return await open_store(url, names, stored_names=STORED_NAMES, serving_role=role, max_size=8)


async def test_the_serving_role_owns_and_writes_the_table_outside_the_record(
    database_url: str, schema_name: str, role: str
) -> None:
    # made by the owner first (a server that ran without the role), then served as it
    owner = await _open(database_url, schema_name, None)
    await limits.prepare(owner)
    await owner.close()
    serving = await _open(database_url, schema_name, role)
    try:
        await limits.prepare(serving)
        assert await charges(serving, LIMITS, "paula", "command", 5) == [None] * 5
        async with serving.pool.acquire() as conn:
            table = serving.names.q(limits.TABLE)
            owner_of = await conn.fetchval(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = $1::regclass", table
            )
            assert owner_of == role
            await conn.execute(f"DELETE FROM {table}")  # not append-only
        assert (await verify_chain(serving.pool, serving.names)).checked == 0  # not chained
    finally:
        await serving.close()
