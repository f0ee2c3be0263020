"""What the deciders saw: a gate decision with the review it closed (evidence, every
vote with its rationale and evidence) and the project as it stood when it was taken.

Read from the log itself (the project's events up to the decision), not from a read
model, so it answers the same whenever it is asked.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.gate_review import Condition, DecisionRecord, Review
from domain.project import Project
from eventstore.database import Store
from projections.engine.events import to_change
from projections.portfolios.as_of import portfolio_view_as_of
from projections.projects.queries import project_detail_as_of


async def decision_context(
    store: Store, project_id: UUID, gate: str, n: int, *, portfolio: bool = True
) -> dict[str, Any] | None:
    """The ``n``-th decision (from 1) on ``gate``, or None if there is none.

    ``portfolio=False`` leaves out the portfolio's totals then (``"portfolio": None``):
    they fold every project of the portfolio up to the decision, seconds at 1M events
    (bench/pages.py), where the rest takes milliseconds; the decision record page does."""
    notes = await store.events.select_originator_notifications(project_id)
    decided = [
        c.position
        for c in map(to_change, notes)
        if c.key == "Project.GateDecided" and c.data["gate"] == gate
    ]
    if not 1 <= n <= len(decided):
        return None
    position = decided[n - 1]
    before: Any = None
    project: Any = None
    for note in notes:
        if note.id > position:
            break
        event = store.mapper.to_domain_event(note)
        if note.id < position:
            before = event.mutate(before)
        project = event.mutate(project)
    assert isinstance(before, Project) and isinstance(project, Project)
    record: DecisionRecord = project.decisions[-1]
    review = before.review
    assert review is not None and review.gate == gate
    seen = record.seen_position if record.seen_position is not None else position - 1
    seen = min(seen, position - 1)
    state = await project_detail_as_of(store, project_id, position=seen)
    totals = (
        await portfolio_view_as_of(store, before.portfolio_id, position=seen) if portfolio else None
    )
    return {
        "project_id": str(project_id),
        "gate": gate,
        "n": n,
        "decision": {
            "decision": record.decision.value,
            "rationale": record.rationale,
            "decided_by": _actor(record.decided_by),
            "decided_at": record.timestamp,
            "position": position,
            "seen_position": record.seen_position,
            "conditions": [
                {"description": c.description, "owner": c.owner, "due": c.due}
                for c in record.conditions
            ],
        },
        "review": review_view(review),
        "project": state,
        "open_conditions": [_condition(c) for c in before.conditions if c.is_open],
        "portfolio": _totals(totals) if totals is not None else None,
    }


def _condition(c: Condition) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "gate": c.gate,
        "description": c.description,
        "owner": c.owner,
        "due": c.due,
        "closed": c.closed,
    }


def _totals(view: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "as_of_position", "projects", "budget")
    return {k: view[k] for k in keys}


def _actor(actor: Any) -> dict[str, Any]:
    return {"person": actor.person, "on_behalf_of": actor.on_behalf_of}


def review_view(review: Review) -> dict[str, Any]:
    """A review as a read shows it: evidence, and each vote with its rationale and who
    cast it for whom (the decision record's and the gate review page's)."""

    def evidence(items: Any) -> list[dict[str, str]]:
        return [{"title": e.title, "link": e.link, "content_hash": e.content_hash} for e in items]

    return {
        "gate": review.gate,
        "requested_by": _actor(review.requested_by),
        "requested_at": review.requested_at,
        "due": review.due,
        "evidence": evidence(review.evidence),
        "votes": [
            {
                "voter": v.voter,
                "cast_by": v.cast_by,
                "on_behalf_of": v.voter if v.cast_by != v.voter else None,
                "vote": v.vote.value,
                "rationale": v.rationale,
                "evidence": evidence(v.evidence),
                "cast_at": v.cast_at,
            }
            for v in review.votes
        ],
    }
