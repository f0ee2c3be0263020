"""A portfolio with its own template: the read model follows the domain's rules."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
import pytest

from domain.policy import DecisionPolicy, GateDefinition, GovernanceTemplate
from domain.project import Project
from eventstore.database import Store
from eventstore.loader import load_aggregate
from projections.projects import queries as project_list
from projections.registry import create_tables
from tests.projections.helpers import drain, new_portfolio, new_project
from tests.workflows import given

POLICY = DecisionPolicy(quorum=1)
# The middle gate's stage happens to be called "Closed"; the last one's is not.
TEMPLATE = GovernanceTemplate(
    "two-step", 1, (GateDefinition("A", "Closed", POLICY), GateDefinition("B", "Done", POLICY))
)


async def _forget_closes(conn: asyncpg.Connection, store: Store, project: UUID) -> None:
    """Rewrite the project's GateDecided events as stored before ``closes`` existed."""
    ev = store.names.q(store.names.events)
    rows = await conn.fetch(
        f"SELECT notification_id, state FROM {ev} WHERE originator_id = $1 "
        "AND topic = 'Project.GateDecided'",
        project,
    )
    assert rows
    async with conn.transaction():
        # The record is append-only; only a superuser can switch its triggers off.
        await conn.execute("SET LOCAL session_replication_role = replica")
        for position, state in rows:
            data = msgspec.json.decode(state)
            assert "closes" in data
            del data["closes"]
            await conn.execute(
                f"UPDATE {ev} SET state = $2 WHERE notification_id = $1",
                position,
                msgspec.json.encode(data),
            )


@pytest.fixture
async def project(store: Store) -> UUID:
    """A project of a portfolio that uses ``TEMPLATE``; read-model tables exist."""
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    return await new_project(store, await new_portfolio(store, TEMPLATE))


async def statuses(store: Store, project: UUID) -> tuple[str, str]:
    """The project's status in the read model (caught up first) and in the domain."""
    await drain(store)
    detail = await project_list.project_detail(store.pool, store.names, project)
    aggregate = await load_aggregate(store, project)
    assert isinstance(aggregate, Project) and detail is not None
    return detail["status"], aggregate.status.value


async def test_the_last_gate_closes_the_project_in_the_domain_and_the_read_model(
    store: Store, project: UUID
) -> None:
    for gate, status in (("A", "active"), ("B", "closed")):
        await given.pass_gate(store, project, gate, voters=[given.GATEKEEPER])
        assert await statuses(store, project) == (status, status)


async def test_decisions_recorded_before_closes_existed_keep_the_rule_of_their_time(
    store: Store, project: UUID
) -> None:
    # Then a GO opening a stage named "Closed" closed the project, whatever the gate.
    await given.pass_gate(store, project, "A", voters=[given.GATEKEEPER])
    async with store.pool.acquire() as conn:
        await _forget_closes(conn, store, project)
    assert await statuses(store, project) == ("closed", "closed")
