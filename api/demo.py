"""The demo portfolio: projects at different gates, created through the real workflows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.gate_review import Decision, Evidence, Vote
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Tolerances, default_template
from eventstore.database import Store
from workflows import gates, portfolios
from workflows.uow import CommandOptions

ADMIN = Actor("pmo-admin", correlation_id="demo")
BOARD = Board(members=("carol", "dave", "erin"), chair="carol")
OPTS = CommandOptions(principal="demo")


def _by(person: str) -> Actor:
    return Actor(person, correlation_id="demo")


async def _project(store: Store, portfolio_id: UUID, name: str, pm: str, budget: str) -> UUID:
    start = date(2027, 1, 4)
    result = await portfolios.create_project(
        store,
        portfolio_id=portfolio_id,
        name=name,
        pm=pm,
        sponsor="sam",
        baseline=Baseline(
            Money(Decimal(budget), "EUR"), start, start + timedelta(days=365), f"{name}: scope"
        ),
        tolerances=Tolerances(Decimal("10"), 30),
        by=ADMIN,
        options=OPTS,
    )
    return result.id


async def _review_and_vote(
    store: Store, project_id: UUID, pm: str, voters: tuple[str, ...]
) -> None:
    await gates.request_review(
        store,
        project_id=project_id,
        gate="G0",
        evidence=[Evidence("Project mandate", "https://intranet/mandate.pdf", "sha256:demo")],
        by=_by(pm),
        options=OPTS,
    )
    for voter in voters:
        await gates.cast_vote(
            store,
            project_id=project_id,
            gate="G0",
            vote=Vote.APPROVE,
            rationale="Mandate is clear and aligned with the strategy.",
            by=_by(voter),
            options=OPTS,
        )


async def load_demo(store: Store) -> dict[str, Any]:
    """Create the 'Digital Transformation' portfolio and four projects."""
    created = await portfolios.create_portfolio(
        store,
        name="Digital Transformation",
        objectives=("Modernise customer channels", "Retire legacy core systems"),
        envelope=Money(Decimal("25000000.00"), "EUR"),
        board=BOARD,
        template=default_template(),
        by=ADMIN,
        options=OPTS,
    )
    pid = created.id
    proposed = await _project(store, pid, "Customer portal", "paula", "1200000.00")
    in_review = await _project(store, pid, "Data platform", "peter", "3400000.00")
    await _review_and_vote(store, in_review, "peter", ("dave",))
    started = await _project(store, pid, "CRM replacement", "paula", "2750000.00")
    await _review_and_vote(store, started, "paula", ("dave", "erin"))
    await gates.decide_gate(
        store,
        project_id=started,
        gate="G0",
        decision=Decision.CONDITIONAL_GO,
        rationale="Go, provided the data-protection assessment is done.",
        conditions=[("Complete the DPIA", "paula", date(2027, 2, 1))],
        by=_by("carol"),
        options=OPTS,
    )
    return {
        "portfolio": pid,
        "projects": {"proposed": proposed, "in_review": in_review, "conditional_go": started},
    }
