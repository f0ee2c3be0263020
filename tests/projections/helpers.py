"""Scenario builders and table dumps for projection tests."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.gate_review import Decision, Evidence, Vote
from domain.money import Money
from domain.policy import (
    Actor,
    Baseline,
    Board,
    GovernanceTemplate,
    Tolerances,
    default_template,
)
from eventstore.database import Store
from projections.engine.projector import apply_batch
from projections.engine.read_model import Projection
from projections.registry import all_projections
from workflows import gates, portfolios
from workflows.uow import CommandOptions

OPTS = CommandOptions(principal="test")
BOARD = Board(("carol", "dave", "erin"), "carol")


def by(person: str, for_: str | None = None) -> Actor:
    return Actor(person, for_, "corr")


async def new_portfolio(store: Store, template: GovernanceTemplate | None = None) -> UUID:
    result = await portfolios.create_portfolio(
        store,
        name="P",
        objectives=("o",),
        envelope=Money(Decimal("1000000"), "EUR"),
        board=BOARD,
        template=template or default_template(),
        by=by("admin"),
        options=OPTS,
    )
    return result.id


async def new_project(store: Store, portfolio_id: UUID, name: str = "X") -> UUID:
    result = await portfolios.create_project(
        store,
        portfolio_id=portfolio_id,
        name=name,
        pm="paula",
        sponsor="sam",
        baseline=Baseline(Money(Decimal("1000"), "EUR"), date(2027, 1, 1), date(2027, 6, 1), "s"),
        tolerances=Tolerances(Decimal("10"), 20),
        by=by("admin"),
        options=OPTS,
    )
    return result.id


async def busy_portfolio(store: Store, projects: int = 6, seed: int = 1) -> UUID:
    """A portfolio whose projects sit at different points of the G0 review."""
    rnd = random.Random(seed)
    pid = await new_portfolio(store)
    for i in range(projects):
        project = await new_project(store, pid, f"Project {i}")
        step = i % 5
        if step == 0:
            continue
        await gates.request_review(
            store,
            project_id=project,
            gate="G0",
            evidence=[Evidence("Mandate")],
            by=by("paula"),
            options=OPTS,
        )
        voters = rnd.sample(["dave", "erin", "carol"], k=min(step, 3))
        for v in voters:
            await gates.cast_vote(
                store,
                project_id=project,
                gate="G0",
                vote=Vote.APPROVE,
                rationale="ok",
                by=by(v),
                options=OPTS,
            )
        if step >= 3:
            decision = Decision.GO if step == 3 else Decision.CONDITIONAL_GO
            conditions = [("DPIA", "olga", date(2027, 2, 1))] if step == 4 else []
            await gates.decide_gate(
                store,
                project_id=project,
                gate="G0",
                decision=decision,
                rationale="r",
                conditions=conditions,
                by=by("carol"),
                options=OPTS,
            )
    return pid


async def dump(store: Store, projections: list[Projection] | None = None) -> dict[str, Any]:
    """Every read-model table's rows, sorted: equal dumps mean equal read models."""
    out: dict[str, Any] = {}
    async with store.pool.acquire() as conn:
        for projection in projections or all_projections():
            for base in projection.tables:
                rows = await conn.fetch(f"SELECT * FROM {store.names.q(base)}")
                out[base] = sorted(repr(sorted(dict(r).items())) for r in rows)
    return out


async def drain(
    store: Store, batch_size: int = 1000, projections: Sequence[Projection] | None = None
) -> None:
    """Apply every event not yet applied, ``batch_size`` at a time, to each projection
    (all of them by default), as the live projector does."""
    async with store.pool.acquire() as conn:
        for projection in projections if projections is not None else all_projections():
            while await apply_batch(conn, store, projection, batch_size):
                pass
