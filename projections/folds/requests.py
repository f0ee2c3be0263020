"""Change requests, sign-offs and delegations in the governance projection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.seats import change_request_seats, owed_signatures
from projections.engine.events import Change
from projections.folds.documents import Batch, Doc, InboxRow, _val, configurers, note_escalation

OPEN_CR = ("submitted", "assessed", "deferred")


def _impact(impact: Any) -> Doc:
    return {
        "title": impact.title,
        "description": impact.description,
        "cost_delta": {
            "amount": str(impact.cost_delta.amount),
            "currency": impact.cost_delta.currency,
        },
        "schedule_delta_days": impact.schedule_delta_days,
        "scope": impact.scope,
        "risk": impact.risk,
    }


def cr_created(batch: Batch, c: Change) -> None:
    batch.subjects[c.aggregate_id] = {
        "kind": "change_request",
        "project_id": str(c.data["project_id"]),
        "portfolio_id": str(c.data["portfolio_id"]),
        **_impact(c.data["impact"]),
        "status": "draft",
        "submitter": c.on_behalf_of or c.actor,
        "route": None,
        "due": None,
        "assessment": None,
        "votes": {},
        "decisions": [],
        "created_at": c.stamp,
    }
    batch.subject(c)


def cr_amended(batch: Batch, c: Change) -> None:
    doc = batch.subject(c)
    if doc is None:
        return
    doc.update(_impact(c.data["impact"]))
    if doc["status"] != "draft":
        doc.update(status="submitted", votes={}, assessment=None)
        if c.data.get("route") is not None:
            doc["route"] = _val(c.data["route"])
        if c.data.get("due") is not None:
            doc["due"] = c.data["due"].isoformat()


def cr_submitted(batch: Batch, c: Change) -> None:
    doc = batch.subject(c)
    if doc is not None:
        doc.update(status="submitted", route=_val(c.data["route"]), due=c.data["due"].isoformat())


def cr_assessed(batch: Batch, c: Change) -> None:
    doc = batch.subject(c)
    if doc is not None:
        doc.update(status="assessed", assessment=c.data["assessment"])


def cr_vote(batch: Batch, c: Change) -> None:
    doc = batch.subject(c)
    if doc is not None:
        doc["votes"][c.on_behalf_of or c.actor] = _val(c.data["vote"])


_CR_OUTCOME = {"approve": "approved", "reject": "rejected", "defer": "deferred"}


def cr_decided(batch: Batch, c: Change) -> None:
    doc = batch.subject(c)
    if doc is None:
        return
    decision = _val(c.data["decision"])
    doc["status"] = _CR_OUTCOME[decision]
    doc["decisions"].append(
        {
            "decision": decision,
            "rationale": c.data["rationale"],
            "decided_by": {"person": c.actor, "on_behalf_of": c.on_behalf_of},
            "decided_at": c.stamp,
            "position": c.position,
        }
    )


def status_is(status: str) -> Callable[[Batch, Change], None]:
    def handler(batch: Batch, c: Change) -> None:
        doc = batch.subject(c)
        if doc is not None:
            doc["status"] = status

    return handler


def signoff_requested(batch: Batch, c: Change) -> None:
    d = c.data
    batch.subjects[c.aggregate_id] = {
        "kind": "signoff",
        "project_id": str(d["project_id"]),
        "portfolio_id": str(d["portfolio_id"]),
        "deliverable": d["deliverable"],
        "deliverable_version": d["version"],
        "content_hash": d["content_hash"],
        "signatories": list(d["signatories"]),
        "signed": [],
        "declined_by": None,
        "status": "open",
        "due": d["due"].isoformat(),
        "requested_by": d["by"].person,
        "created_at": c.stamp,
    }
    batch.subject(c)


def signoff_signed(batch: Batch, c: Change) -> None:
    doc = batch.subject(c)
    if doc is None:
        return
    doc["signed"].append({"person": c.actor, "comment": c.data["comment"], "at": c.stamp})
    if {s["person"] for s in doc["signed"]} >= set(doc["signatories"]):
        doc["status"] = "complete"


def signoff_declined(batch: Batch, c: Change) -> None:
    doc = batch.subject(c)
    if doc is not None:
        doc["status"] = "declined"
        doc["declined_by"] = {"person": c.actor, "comment": c.data["comment"]}


def delegated(batch: Batch, c: Change) -> None:
    d = c.data["delegation"]
    book = c.actor
    batch.delegations[d.id] = (
        d.id,
        book,
        d.delegate,
        d.starts,
        d.ends,
        d.portfolio_id,
        d.project_id,
        False,
    )


def delegation_revoked(batch: Batch, c: Change) -> None:
    """A full row when delegated in the same batch, else just the id to mark revoked."""
    key = c.data["delegation_id"]
    existing = batch.delegations.get(key)
    batch.delegations[key] = (*existing[:-1], True) if existing and len(existing) > 1 else (key,)


def subject_touched(batch: Batch, c: Change) -> None:
    batch.subject(c)


def subject_escalated(batch: Batch, c: Change) -> None:
    note_escalation(batch.subject(c), c)


def _pending_cr(batch: Batch, doc: Doc, sid: UUID) -> list[InboxRow]:
    if doc["status"] not in OPEN_CR:
        return []
    project_id, portfolio_id = UUID(doc["project_id"]), UUID(doc["portfolio_id"])
    project = batch.projects.get(project_id)
    board = batch.portfolios.get(portfolio_id, {})
    if project is None:
        return []
    due = date.fromisoformat(doc["due"]) if doc["due"] else None
    since = datetime.fromisoformat(doc["modified_at"])
    title = f"{project['name']}: change request '{doc['title']}'"
    policy = project.get("change_policy") or {"mandatory": ["sponsor"], "chair_must_confirm": True}
    seats = change_request_seats(
        doc["route"],
        project["sponsor"],
        board.get("members", []),
        board.get("chair"),
        policy["mandatory"],
        policy["chair_must_confirm"],
        barred=[doc["submitter"], *configurers(project, board)],
    )
    rows = [
        (sid, v, "cr_vote", project_id, portfolio_id, title, due, since)
        for v in seats.owed_votes(doc["votes"])
    ]
    rows += [
        (sid, d, "cr_decision", project_id, portfolio_id, title, due, since)
        for d in seats.owed_decisions()
    ]
    return rows


def _pending_signoff(batch: Batch, doc: Doc, sid: UUID) -> list[InboxRow]:
    if doc["status"] != "open":
        return []
    owed = owed_signatures(doc["signatories"], (s["person"] for s in doc["signed"]))
    title = f"Sign off '{doc['deliverable']}' v{doc['deliverable_version']}"
    due = date.fromisoformat(doc["due"])
    since = datetime.fromisoformat(doc["created_at"])
    return [
        (sid, p, "signoff", UUID(doc["project_id"]), UUID(doc["portfolio_id"]), title, due, since)
        for p in owed
    ]


SUBJECT_INBOX: dict[str, Callable[[Batch, Doc, UUID], list[InboxRow]]] = {
    "change_request": _pending_cr,
    "signoff": _pending_signoff,
}

SUBJECT_HANDLERS: dict[str, Callable[[Batch, Change], None]] = {
    "ChangeRequest.Created": cr_created,
    "ChangeRequest.Amended": cr_amended,
    "ChangeRequest.Submitted": cr_submitted,
    "ChangeRequest.Assessed": cr_assessed,
    "ChangeRequest.VoteCast": cr_vote,
    "ChangeRequest.VoteChanged": cr_vote,
    "ChangeRequest.Decided": cr_decided,
    "ChangeRequest.Withdrawn": status_is("withdrawn"),
    "ChangeRequest.Implemented": status_is("implemented"),
    "ChangeRequest.Escalated": subject_escalated,
    "SignOff.Requested": signoff_requested,
    "SignOff.Signed": signoff_signed,
    "SignOff.Declined": signoff_declined,
    "SignOff.Superseded": status_is("superseded"),
    "SignOff.Escalated": subject_escalated,
    "Delegation.Delegated": delegated,
    "Delegation.Revoked": delegation_revoked,
}
