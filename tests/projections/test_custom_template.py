"""A portfolio with its own template: the read model follows the domain's rules."""

from __future__ import annotations

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
    policy = DecisionPolicy(quorum=1)
    # The middle gate's stage happens to be called "Closed"; the last one's is not.
    template = GovernanceTemplate(
        "two-step", 1, (GateDefinition("A", "Closed", policy), GateDefinition("B", "Done", policy))
    )
    project = await new_project(store, await new_portfolio(store, template))
    for gate, status in (("A", "active"), ("B", "closed")):
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
        await _drain(store)
        detail = await project_list.project_detail(store.pool, store.names, project)
        aggregate = await load_aggregate(store, project)
        assert isinstance(aggregate, Project)
        assert detail is not None
        assert detail["status"] == aggregate.status.value == status
