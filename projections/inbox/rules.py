"""What each subject (a project's open review, a change request, a sign-off request)
asks of whom: the inbox rows, by the domain's own rule of who holds which seat
(``domain.seats``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.seats import (
    board_seats,
    change_request_seats,
    condition_item,
    gate_holders,
    owed_conditions,
    owed_signatures,
)
from projections.folds.documents import Batch, Doc, _gate
from projections.folds.requests import OPEN_CR


def inbox_items(batch: Batch, subject_id: UUID) -> list[tuple[Any, ...]]:
    """Everything a subject (project review, CR, sign-off) currently asks of people: its
    inbox rows, each with whether that item was escalated for its due date."""
    doc = batch.projects.get(subject_id)
    if doc is not None:
        rows = project_inbox(batch, subject_id)
    else:
        doc = batch.subjects.get(subject_id)
        build = SUBJECT_INBOX.get(doc["kind"]) if doc is not None else None
        rows = build(batch, doc, subject_id) if build and doc is not None else []
    if not rows:
        return []
    escalations = doc.get("escalations", ()) if doc else ()
    done = {(e["item"], e["due"]): e.get("to") for e in escalations}
    keys = [(escalation_item(r[2], r[1], r[0]), str(r[6])) for r in rows]
    items = [(*r, k in done) for r, k in zip(rows, keys, strict=True)]
    return items + escalated_rows(rows, [done.get(k) for k in keys])


def escalated_rows(rows: list[InboxRow], recipients: list[str | None]) -> list[tuple[Any, ...]]:
    """An escalated item still owed shows in its recipient's inbox too (kind
    "escalated"): one row per recipient and subject, naming whose items are overdue."""
    owed: dict[tuple[UUID, str], list[InboxRow]] = {}
    for row, to in zip(rows, recipients, strict=True):
        # a condition's row is its own; the escalation shows on its project's
        subject = row[3] if row[2] == "condition" and row[3] else row[0]
        if to:
            owed.setdefault((subject, to), []).append(row)
    return [
        (
            sid,
            to,
            "escalated",
            r[0][3],
            r[0][4],
            _escalated_title(r),
            min(x[6] for x in r if x[6]),
            r[0][7],
            True,
        )
        for (sid, to), r in owed.items()
    ]


def _escalated_title(rows: list[InboxRow]) -> str:
    whose = ", ".join(sorted({f"{r[2]} of {r[1]}" for r in rows}))
    return f"Escalated: {rows[0][5]} (overdue: {whose})"


def escalation_item(kind: str, person: str, subject_id: object = None) -> str:
    """How the escalation job names an inbox item in its Escalated event (a condition
    by its id too: one owner may owe several)."""
    if kind == "condition":
        return condition_item(subject_id, person)
    return f"{kind}:{person}"


# subject, person, kind, project, portfolio, title, due, since (``inbox_items`` adds
# whether the item was escalated for that due date)
InboxRow = tuple[UUID, str, str, UUID | None, UUID | None, str, date | None, datetime]


def holders_of(doc: Doc, board: Doc) -> dict[str, tuple[str, ...]]:
    """Who holds each role a gate's policy may name (``domain.seats.gate_holders``)."""
    return gate_holders(
        doc["pm"], doc["sponsor"], doc["stakeholders"], board.get("members", []), board.get("chair")
    )


def project_inbox(batch: Batch, pid: UUID) -> list[InboxRow]:
    doc = batch.projects.get(pid)
    if doc is None:
        return []
    return [*review_inbox(batch, pid, doc), *condition_inbox(pid, doc)]


def condition_inbox(pid: UUID, doc: Doc) -> list[InboxRow]:
    """Each open condition in its owner's inbox, by its own id (``domain.seats``)."""
    ended = doc["status"] in ("closed", "cancelled")
    conds = {c["id"]: c for c in doc.get("conditions", ())}
    rows = (
        (c["id"], c["owner"], date.fromisoformat(c["due"]), c["closed"]) for c in conds.values()
    )
    since = datetime.fromisoformat(doc["modified_at"])
    portfolio_id = UUID(doc["portfolio_id"])
    return [
        (
            UUID(cid),
            owner,
            "condition",
            pid,
            portfolio_id,
            f"{doc['name']}: condition of {conds[cid]['gate']}: {conds[cid]['description']}",
            due,
            since,
        )
        for cid, owner, due in owed_conditions(ended, rows)
    ]


def review_inbox(batch: Batch, pid: UUID, doc: Doc) -> list[InboxRow]:
    if doc["review"] is None:
        return []
    review = doc["review"]
    portfolio_id = UUID(doc["portfolio_id"])
    board = batch.portfolios.get(portfolio_id, {})
    gate = _gate(doc, review["gate"])
    seats = board_seats(
        board.get("members", []),
        board.get("chair"),
        gate["mandatory"],
        gate["chair_must_confirm"],
        holders_of(doc, board),
        barred=[*review["requested_by"], doc["pm"], *configurers(doc, board)],
    )
    due = date.fromisoformat(review["due"])
    since = datetime.fromisoformat(review["requested_at"])
    title = f"{doc['name']}: {review['gate']} {gate['title']} review".replace("  ", " ")
    rows: list[InboxRow] = [
        (pid, v, "vote", pid, portfolio_id, title, due, since)
        for v in seats.owed_votes(review["votes"])
    ]
    rows += [
        (pid, d, "decision", pid, portfolio_id, title, due, since) for d in seats.owed_decisions()
    ]
    return rows


def configurers(project: Doc, board: Doc) -> list[str]:
    """Who configured a project's governance: its portfolio's creator and board
    changers, and the project's creator (``Project.configurers``)."""
    return [*board.get("configured_by", []), *project.get("created_by", [])]


def pending_cr(batch: Batch, doc: Doc, sid: UUID) -> list[InboxRow]:
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
    rows: list[InboxRow] = [
        (sid, v, "cr_vote", project_id, portfolio_id, title, due, since)
        for v in seats.owed_votes(doc["votes"])
    ]
    rows += [
        (sid, d, "cr_decision", project_id, portfolio_id, title, due, since)
        for d in seats.owed_decisions()
    ]
    return rows


def pending_signoff(batch: Batch, doc: Doc, sid: UUID) -> list[InboxRow]:
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
    "change_request": pending_cr,
    "signoff": pending_signoff,
}
