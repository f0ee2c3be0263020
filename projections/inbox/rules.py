"""Every event handler of the governance projection, and the inbox of every subject."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from projections.engine.events import Change
from projections.folds.documents import STATE_HANDLERS, Batch, project_inbox
from projections.folds.requests import SUBJECT_HANDLERS, SUBJECT_INBOX

HANDLERS: dict[str, Callable[[Batch, Change], None]] = {**STATE_HANDLERS, **SUBJECT_HANDLERS}


def apply_changes(
    batch: Batch, changes: Sequence[Change], failed: list[tuple[Change, Exception]] | None = None
) -> None:
    """Apply changes, in order, to the documents in ``batch``. With ``failed``, a change
    whose handler raises is added to it and the next one is applied (whatever the
    handler changed before it raised stays: a rebuild's in-memory documents have no
    rollback); without, the error propagates."""
    for change in changes:
        handler = HANDLERS.get(change.key)
        if handler is None:
            continue
        if failed is None:
            handler(batch, change)
            continue
        try:
            handler(batch, change)
        except Exception as exc:
            failed.append((change, exc))


def inbox_items(batch: Batch, subject_id: UUID) -> list[tuple[Any, ...]]:
    """Everything a subject (project review, CR, sign-off) currently asks of people: its
    inbox rows, each with whether that item was escalated for its due date."""
    doc = batch.projects.get(subject_id)
    if doc is not None:
        rows = project_inbox(batch, subject_id)
    else:
        doc = batch.subjects.get(subject_id)
        build = SUBJECT_INBOX.get(doc["kind"]) if doc is not None else None
        rows = build(batch, doc, subject_id) if build else []
    if not rows:
        return []
    done = {(e["item"], e["due"]) for e in doc.get("escalations", ())} if doc else set()
    return [(*r, (escalation_item(r[2], r[1]), str(r[6])) in done) for r in rows]


def escalation_item(kind: str, person: str) -> str:
    """How the escalation job names an inbox item in its Escalated event."""
    return f"{kind}:{person}"
