"""Given-builders for workflow tests: a portfolio, a project, CRs at each step, and
readers of what the store holds. Every builder goes through the real use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.change_request import ChangeRequest, CRDecision
from domain.gate_review import Decision, Evidence, Vote
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Tolerances, default_template
from domain.project import Project
from domain.signoff import SignOff
from eventstore.database import Store
from eventstore.loader import load_aggregate
from workflows import change_requests as crs
from workflows import delegations, gates, portfolios, signoffs
from workflows.uow import CommandOptions

OPTS = CommandOptions(principal="test")
PM, SPONSOR, CHAIR, GATEKEEPER, GATEKEEPER_2 = "paula", "sam", "carol", "dave", "erin"
BOARD = Board((CHAIR, GATEKEEPER, GATEKEEPER_2), CHAIR)
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
START, END = date(2027, 1, 1), date(2027, 6, 1)
# Budget 1000 EUR with 10 % cost and 20 days schedule tolerance: +-100 EUR, +-20 days.
BUDGET, TOLERANCES = Decimal("1000"), Tolerances(Decimal("10"), 20)


def by(person: str, for_: str | None = None) -> Actor:
    return Actor(person, for_, "corr")


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


async def new_project(store: Store, board: Board = BOARD) -> Project:
    portfolio = await portfolios.create_portfolio(
        store,
        name="P",
        objectives=("o",),
        envelope=eur("1000000"),
        board=board,
        template=default_template(),
        by=by("admin"),
        options=OPTS,
    )
    created = await portfolios.create_project(
        store,
        portfolio_id=portfolio.id,
        name="X",
        pm=PM,
        sponsor=SPONSOR,
        baseline=Baseline(Money(BUDGET, "EUR"), START, END, "scope"),
        tolerances=TOLERANCES,
        by=by("admin"),
        options=OPTS,
    )
    return await project_of(store, created.id)


async def project_of(store: Store, project_id: UUID) -> Project:
    found = await load_aggregate(store, project_id)
    assert isinstance(found, Project)
    return found


async def cr_of(store: Store, cr_id: UUID) -> ChangeRequest:
    found = await load_aggregate(store, cr_id)
    assert isinstance(found, ChangeRequest)
    return found


async def signoff_of(store: Store, signoff_id: UUID) -> SignOff:
    found = await load_aggregate(store, signoff_id)
    assert isinstance(found, SignOff)
    return found


async def drafted_cr(store: Store, project_id: UUID, cost: str, days: int = 0) -> UUID:
    result = await crs.draft_change_request(
        store,
        project_id=project_id,
        title=f"Change {cost}",
        description="Why this change is needed",
        cost_delta=eur(cost),
        schedule_delta_days=days,
        scope="scope note",
        risk="risk note",
        by=by(PM),
        options=OPTS,
    )
    return result.id


async def submitted_cr(store: Store, project_id: UUID, cost: str, days: int = 0) -> UUID:
    cr_id = await drafted_cr(store, project_id, cost, days)
    await crs.submit_change_request(
        store, change_request_id=cr_id, by=by(PM), now=NOW, options=OPTS
    )
    return cr_id


async def amend_unchanged(store: Store, cr_id: UUID, now: datetime = NOW) -> None:
    """The PM amends a CR without changing it: it is routed again from ``now``."""
    cr = await cr_of(store, cr_id)
    await crs.amend_change_request(
        store,
        change_request_id=cr_id,
        title=cr.title,
        description=cr.description,
        cost_delta=cr.cost_delta,
        schedule_delta_days=cr.schedule_delta_days,
        scope=cr.scope,
        risk=cr.risk,
        by=by(PM),
        now=now,
        options=OPTS,
    )


async def vote_cr(
    store: Store, cr_id: UUID, actor: Actor, vote: Vote = Vote.APPROVE, now: datetime = NOW
) -> None:
    await crs.vote_change_request(
        store, change_request_id=cr_id, vote=vote, rationale="r", by=actor, now=now, options=OPTS
    )


async def decide_cr(
    store: Store,
    cr_id: UUID,
    actor: Actor,
    decision: CRDecision = CRDecision.APPROVE,
    now: datetime = NOW,
) -> None:
    await crs.decide_change_request(
        store,
        change_request_id=cr_id,
        decision=decision,
        rationale="worth it",
        by=actor,
        now=now,
        options=OPTS,
    )


async def approved_by_sponsor(store: Store, project_id: UUID, cost: str, days: int = 0) -> UUID:
    cr_id = await submitted_cr(store, project_id, cost, days)
    await decide_cr(store, cr_id, by(SPONSOR))
    return cr_id


async def delegate(
    store: Store,
    delegator: str,
    delegate_to: str,
    *,
    days: int = 7,
    project_id: UUID | None = None,
    portfolio_id: UUID | None = None,
) -> UUID:
    result = await delegations.delegate_authority(
        store,
        delegate=delegate_to,
        starts=NOW - timedelta(days=1),
        ends=NOW + timedelta(days=days),
        project_id=project_id,
        portfolio_id=portfolio_id,
        by=by(delegator),
        now=NOW,
        options=OPTS,
    )
    return UUID(result.details["delegation_id"])


async def request_signoff(
    store: Store, project_id: UUID, deliverable: str, version: str, signatories: Sequence[str]
) -> UUID:
    result = await signoffs.request_signoff(
        store,
        project_id=project_id,
        deliverable=deliverable,
        version=version,
        content_hash=f"sha256:{version}",
        signatories=signatories,
        by=by(PM),
        now=NOW,
        options=OPTS,
    )
    return result.id


async def pass_gate(
    store: Store,
    project_id: UUID,
    gate: str = "G0",
    voters: Sequence[str] = (GATEKEEPER, GATEKEEPER_2),
) -> None:
    """The PM requests a review of ``gate``, ``voters`` approve, the chair decides GO."""
    evidence = [Evidence("Mandate", "https://docs/mandate", "sha256:aa")]
    await gates.request_review(
        store, project_id=project_id, gate=gate, evidence=evidence, by=by(PM), options=OPTS
    )
    for voter in voters:
        await gates.cast_vote(
            store,
            project_id=project_id,
            gate=gate,
            vote=Vote.APPROVE,
            rationale="ok",
            by=by(voter),
            options=OPTS,
        )
    await gates.decide_gate(
        store,
        project_id=project_id,
        gate=gate,
        decision=Decision.GO,
        rationale="go",
        by=by(CHAIR),
        options=OPTS,
    )


async def events_of(store: Store, aggregate_id: UUID, suffix: str) -> list[Any]:
    """The domain events of one aggregate whose topic ends with ``suffix``."""
    stored = await store.events.select_events(aggregate_id)
    return [store.mapper.to_domain_event(s) for s in stored if s.topic.endswith(suffix)]
