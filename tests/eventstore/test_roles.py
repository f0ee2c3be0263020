"""The serving role reads and appends; it cannot change, remove or un-protect the record."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from eventsourcing.persistence import StoredEvent
from litestar.testing import AsyncTestClient

from api.app import create_app
from domain.stored_names import STORED_NAMES
from eventstore.checkpoints import load_or_create_key, take_checkpoint
from eventstore.database import Store, open_store
from eventstore.roles import ServingRoleError, grant_serving_role
from eventstore.schema import StoreNames, drop_schema, quote_ident
from eventstore.verify import verify_chain
from tests.api.conftest import app_settings
from tests.api.scenario import Api


@pytest.fixture
async def role(database_url: str, schema_name: str) -> AsyncIterator[str]:
    name = f"gl_serving_{uuid.uuid4().hex[:8]}"
    yield name
    conn = await asyncpg.connect(database_url)
    try:
        await drop_schema(conn, schema_name)
        await conn.execute(f"DROP OWNED BY {quote_ident(name)}")
        await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")
    finally:
        await conn.close()


@pytest.fixture
async def serving(database_url: str, schema_name: str, role: str) -> AsyncIterator[Store]:
    store = await open_store(
        database_url,
        StoreNames(schema=schema_name),
        stored_names=STORED_NAMES,
        serving_role=role,
        min_size=1,
        max_size=4,
    )
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO {ev} VALUES (gen_random_uuid(), 1, 'X.Y', '\\x00', 999)",
        "UPDATE {ev} SET topic = 'forged'",
        "DELETE FROM {ev}",
        "TRUNCATE {ev}",
        "ALTER TABLE {ev} DISABLE TRIGGER USER",
        "SET session_replication_role = replica",
        "DELETE FROM {chain}",
        "INSERT INTO {chain} VALUES (99, 99, '\\x00', false)",
        "SELECT {extend}(0)",
        "DROP TABLE {ev}",
        "UPDATE {log} SET log_id = gen_random_uuid()",
        "UPDATE {settings} SET value = 'x'; RESET ROLE; DELETE FROM {ev}",
        "SET ROLE postgres",
    ],
)
async def test_the_serving_role_cannot_touch_the_record(serving: Store, statement: str) -> None:
    await serving.events.insert_events([StoredEvent(uuid.uuid4(), 1, "T.E", b"{}")])
    n = serving.names
    sql = statement.format(
        ev=n.q(n.events),
        chain=n.q("gl_chain"),
        extend=n.q("gl_chain_extend"),
        log=n.q("gl_log"),
        settings=n.q("gl_settings"),
    )
    async with serving.pool.acquire() as conn:
        # connected as the role itself: nothing to reset to
        assert await conn.fetchval("SELECT session_user") == serving_role_of(conn)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute(sql)
    report = await verify_chain(serving.pool, serving.names)
    assert report.intact and report.checked == 1


def serving_role_of(conn: asyncpg.Connection) -> str:
    return conn._params.user  # the user the pool logged in as


@asynccontextmanager
async def a_role(
    database_url: str, attributes: str
) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A throwaway role (roles are the whole cluster's), and a superuser connection."""
    name = f"gl_test_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"CREATE ROLE {name} {attributes}")
        yield conn, name
    finally:
        await conn.execute(f"DROP OWNED BY {name}")
        await conn.execute(f"DROP ROLE {name}")
        await conn.close()


async def test_no_other_role_may_append_or_chain(store: Store, database_url: str) -> None:
    """PostgreSQL lets every role execute a new function: the append functions (which
    run as the owner) and the chain's are revoked from PUBLIC when they are made."""
    async with a_role(database_url, "NOLOGIN") as (conn, outsider):
        await conn.execute(f"GRANT USAGE ON SCHEMA {quote_ident(store.names.schema)} TO {outsider}")
        for call in (
            f"SELECT * FROM {store.names.q('gl_insert_events')}"
            "(ARRAY[gen_random_uuid()], ARRAY[1::bigint], ARRAY['Forged.Event'], "
            "ARRAY['\\x00'::bytea])",
            f"SELECT {store.names.q('gl_chain_extend')}(0)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL ROLE {outsider}")
                    await conn.execute(call)
        assert await store.events.max_notification_id() is None


async def test_the_serving_role_appends_chained_and_signs_checkpoints(
    serving: Store, tmp_path: Path
) -> None:
    async with serving.pool.acquire() as conn, conn.transaction():
        await serving.events.insert_events([StoredEvent(uuid.uuid4(), 1, "T.E", b"{}")], conn=conn)
    await serving.events.insert_events([StoredEvent(uuid.uuid4(), 1, "T.E", b"{}")])
    cp = await take_checkpoint(serving.pool, serving.names, load_or_create_key(tmp_path / "k"))
    assert cp is not None and cp.position == 2
    assert (await verify_chain(serving.pool, serving.names)).intact


async def test_a_server_acting_as_the_serving_role_works_end_to_end(
    database_url: str, schema_name: str, role: str, tmp_path: Path
) -> None:
    settings = app_settings(database_url, schema_name, tmp_path, serving_role=role)
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://testserver.local/api/v1"
    ) as client:
        api = Api(client, settings)
        project = await api.project()
        await api.review(project)
        state = await api.state(project)  # the projector, as the serving role, caught up
        assert state["id"] == project
        r: Any = await api.get("/audit/verify")
        assert r.json()["status"] == "intact"
    conn = await asyncpg.connect(database_url)
    try:
        owners = dict(
            await conn.fetch(
                "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 AND c.relkind = 'r'",
                schema_name,
            )
        )
    finally:
        await conn.close()
    assert owners["stored_events"] != role and owners["gl_chain"] != role
    assert any(t.startswith("rm_") and o == role for t, o in owners.items())


async def test_a_reserved_or_other_serving_role_is_refused(
    serving: Store, database_url: str, role: str
) -> None:
    for other, message in (("pg_monitor", "reserves"), ("postgres", "served by the role")):
        with pytest.raises(ServingRoleError, match=message):
            await open_store(
                database_url,
                serving.names,
                stored_names=STORED_NAMES,
                serving_role=other,
                min_size=1,
                max_size=1,
            )
    owners = await serving.pool.fetch(
        "SELECT DISTINCT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname LIKE 'rm\\_%'",
        serving.names.schema,
    )
    assert [r[0] for r in owners] in ([], [role])  # nothing was handed to the other role


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("LOGIN CREATEROLE", "may create roles"),
        ("LOGIN REPLICATION", "may replicate"),
        ("LOGIN BYPASSRLS", "bypasses row security"),
        ("LOGIN IN ROLE pg_execute_server_program", "member of pg_execute_server_program"),
        ("LOGIN IN ROLE postgres", "member of the owner"),
    ],
)
async def test_a_role_that_reaches_past_the_record_may_not_serve(
    store: Store, database_url: str, attributes: str, message: str
) -> None:
    async with a_role(database_url, attributes) as (conn, name):
        with pytest.raises(ServingRoleError, match=message):
            await grant_serving_role(conn, store.names, name)
        recorded = await conn.fetchval(
            f"SELECT value FROM {store.names.q('gl_settings')} WHERE key = 'serving_role'"
        )
        assert recorded is None  # nothing was granted to it


async def test_the_owner_itself_may_not_be_the_serving_role(
    store: Store, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        owner = await conn.fetchval("SELECT current_user")
        with pytest.raises(ServingRoleError):
            await grant_serving_role(conn, store.names, owner)
    finally:
        await conn.close()
