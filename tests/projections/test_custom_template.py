"""A portfolio with its own template: the read model follows the domain's rules."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from domain.gate_review import Decision, Vote
from domain.policy import DecisionPolicy, GateDefinition, GovernanceTemplate
from domain.project import Project
from eventstore.database import Store
from eventstore.loader import load_aggregate
from projections import project_list
from projections.projector import apply_batch
from projections.registry import all_projections, create_tables
from tests.projections.helpers import OPTS, by, new_portfolio, new_project
from workflows import gates

POLICY = DecisionPolicy(quorum=1)
# The middle gate's stage happens to be called "Closed"; the last one's is not.
TEMPLATE = GovernanceTemplate(
    "two-step", 1, (GateDefinition("A", "Closed", POLICY), GateDefinition("B", "Done", POLICY))
)


async def _go(store: Store, project: UUID, gate: str) -> None:
    """Request a review of ``gate``, one approval, the chair's GO."""
    await gates.request_review(
        store, project_id=project, gate=gate, evidence=[], by=by("paula"), options=OPTS
    )
    await gates.cast_vote(
        store,
        project_id=project,
        gate=gate,
        vote=Vote.APPROVE,
        rationale="ok",
        by=by("dave"),
        options=OPTS,
    )
    await gates.decide_gate(
        store,
        project_id=project,
        gate=gate,
        decision=Decision.GO,
        rationale="go",
        by=by("carol"),
        options=OPTS,
    )


async def _forget_closes(conn: asyncpg.Connection, store: Store, project: UUID) -> None:
    """Rewrite the project's GateDecided events as stored before ``closes`` existed."""
    ev = store.names.q(store.names.events)
    rows = await conn.fetch(
        f"SELECT notification_id, state FROM {ev} WHERE originator_id = $1 "
        "AND topic LIKE '%:Project.GateDecided'",
        project,
    )
    assert rows
    for position, state in rows:
        data = msgspec.json.decode(state)
        assert "closes" in data
        del data["closes"]
        await conn.execute(
            f"UPDATE {ev} SET state = $2 WHERE notification_id = $1",
            position,
            msgspec.json.encode(data),
        )


async def _drain(store: Store) -> None:
    async with store.pool.acquire() as conn:
        for p in all_projections():
            while await apply_batch(conn, store, p):
                pass


async def test_the_last_gate_closes_the_project_in_the_domain_and_the_read_model(
    store: Store,
) -> None:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    project = await new_project(store, await new_portfolio(store, TEMPLATE))
    for gate, status in (("A", "active"), ("B", "closed")):
        await _go(store, project, gate)
        await _drain(store)
        detail = await project_list.project_detail(store.pool, store.names, project)
        aggregate = await load_aggregate(store, project)
        assert isinstance(aggregate, Project)
        assert detail is not None
        assert detail["status"] == aggregate.status.value == status


async def test_decisions_recorded_before_closes_existed_keep_the_rule_of_their_time(
    store: Store,
) -> None:
    # Then a GO opening a stage named "Closed" closed the project, whatever the gate.
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    project = await new_project(store, await new_portfolio(store, TEMPLATE))
    await _go(store, project, "A")
    async with store.pool.acquire() as conn:
        await _forget_closes(conn, store, project)
    await _drain(store)
    detail = await project_list.project_detail(store.pool, store.names, project)
    aggregate = await load_aggregate(store, project)
    assert isinstance(aggregate, Project) and detail is not None
    assert detail["status"] == aggregate.status.value == "closed"
