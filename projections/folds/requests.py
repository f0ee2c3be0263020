"""Change requests, sign-offs and delegations in the governance projection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.engine.events import Change
from projections.folds.documents import Batch, Doc, _val, note_escalation

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


def subject_touched(batch: Batch, c: Change) -> None:
    batch.subject(c)


def subject_escalated(batch: Batch, c: Change) -> None:
    note_escalation(batch.subject(c), c)


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
    "ChangeRequest.EscalatedTo": subject_escalated,
    "SignOff.Requested": signoff_requested,
    "SignOff.Signed": signoff_signed,
    "SignOff.Declined": signoff_declined,
    "SignOff.Superseded": status_is("superseded"),
    "SignOff.Escalated": subject_escalated,
    "SignOff.EscalatedTo": subject_escalated,
}
