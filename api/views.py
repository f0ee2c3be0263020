"""Response Structs and the functions that render aggregates into them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.gate_review import Condition, DecisionRecord, Review, VoteRecord
from domain.money import Money
from domain.policy import Actor
from domain.project import Project


class View(msgspec.Struct, frozen=True):
    pass


class MoneyView(View):
    amount: str
    currency: str


class ActorView(View):
    person: str
    on_behalf_of: str | None = None


class VoteView(View):
    voter: str
    cast_by: str
    vote: str
    rationale: str
    cast_at: datetime


class ReviewView(View):
    gate: str
    requested_by: ActorView
    requested_at: datetime
    due: date
    evidence: list[dict[str, str]]
    votes: list[VoteView]


class ConditionView(View):
    id: UUID
    gate: str
    description: str
    owner: str
    due: date
    closed: bool
    closed_by: ActorView | None
    closing_note: str


class DecisionView(View):
    gate: str
    decision: str
    rationale: str
    decided_by: ActorView
    decided_at: datetime
    seen_position: int | None
    votes: list[VoteView]
    condition_ids: list[UUID]


class ProjectView(View):
    id: UUID
    version: int
    portfolio_id: UUID
    name: str
    status: str
    stage: str
    pm: str
    sponsor: str
    stakeholders: list[str]
    baseline: dict[str, Any]
    tolerances: dict[str, Any]
    next_gate: str | None
    review: ReviewView | None
    conditions: list[ConditionView]
    decisions: list[DecisionView]
    template: str
    created_at: datetime
    modified_at: datetime
    as_of_position: int | None = None


def money(m: Money) -> MoneyView:
    return MoneyView(str(m.amount), m.currency)


def actor(a: Actor) -> ActorView:
    return ActorView(a.person, a.on_behalf_of)


def vote(v: VoteRecord) -> VoteView:
    return VoteView(v.voter, v.cast_by, v.vote.value, v.rationale, v.cast_at)


def review(r: Review) -> ReviewView:
    return ReviewView(
        gate=r.gate,
        requested_by=actor(r.requested_by),
        requested_at=r.requested_at,
        due=r.due,
        evidence=[
            {"title": e.title, "link": e.link, "content_hash": e.content_hash} for e in r.evidence
        ],
        votes=[vote(v) for v in r.votes],
    )


def condition(c: Condition) -> ConditionView:
    return ConditionView(
        c.id,
        c.gate,
        c.description,
        c.owner,
        c.due,
        c.closed,
        actor(c.closed_by) if c.closed_by else None,
        c.closing_note,
    )


def decision(d: DecisionRecord) -> DecisionView:
    return DecisionView(
        gate=d.gate,
        decision=d.decision.value,
        rationale=d.rationale,
        decided_by=actor(d.decided_by),
        decided_at=d.timestamp,
        seen_position=d.seen_position,
        votes=[vote(v) for v in d.votes],
        condition_ids=[c.id for c in d.conditions],
    )


def project_view(p: Project, as_of_position: int | None = None) -> ProjectView:
    b, t = p.baseline, p.tolerances
    return ProjectView(
        id=p.id,
        version=p.version,
        portfolio_id=p.portfolio_id,
        name=p.name,
        status=p.status.value,
        stage=p.stage,
        pm=p.pm,
        sponsor=p.sponsor,
        stakeholders=list(p.stakeholders),
        baseline={
            "budget": money(b.budget),
            "start": b.start,
            "end": b.end,
            "scope": b.scope,
        },
        tolerances={"cost_pct": str(t.cost_pct), "schedule_days": t.schedule_days},
        next_gate=p.next_gate,
        review=review(p.review) if p.review else None,
        conditions=[condition(c) for c in p.conditions],
        decisions=[decision(d) for d in p.decisions],
        template=f"{p.template.name} v{p.template.version}",
        created_at=p.created_on,
        modified_at=p.modified_on,
        as_of_position=as_of_position,
    )
