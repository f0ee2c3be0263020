"""Every event handler of the governance projection, and the inbox of every subject."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from projections.changes import Change
from projections.state_handlers import STATE_HANDLERS, Batch, InboxRow, project_inbox
from projections.subject_handlers import SUBJECT_HANDLERS, SUBJECT_INBOX

HANDLERS: dict[str, Callable[[Batch, Change], None]] = {**STATE_HANDLERS, **SUBJECT_HANDLERS}


def apply_changes(batch: Batch, changes: Sequence[Change]) -> None:
    """Apply changes, in order, to the documents in ``batch``."""
    for change in changes:
        handler = HANDLERS.get(change.key)
        if handler is not None:
            handler(batch, change)


def inbox_items(batch: Batch, subject_id: UUID) -> list[InboxRow]:
    """Everything a subject (project review, CR, sign-off) currently asks of people."""
    if subject_id in batch.projects:
        return project_inbox(batch, subject_id)
    doc = batch.subjects.get(subject_id)
    if doc is None:
        return []
    build = SUBJECT_INBOX.get(doc["kind"])
    return build(batch, doc, subject_id) if build else []
