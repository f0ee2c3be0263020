"""Stored events as projections see them: position, ids, type and plain attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from eventstore.transcoder import MsgspecTranscoder

# Classes that hold part of an aggregate's events, named after the aggregate.
AGGREGATE_NAMES = {
    "ProjectBase": "Project",
    "ProjectChanges": "Project",
    "DelegationBook": "Delegation",
}


@dataclass(frozen=True, slots=True)
class Change:
    """One event: ``type`` is ``Aggregate.Event`` (e.g. ``Project.VoteCast``)."""

    position: int
    aggregate_id: UUID
    version: int
    type: str
    at: datetime
    data: dict[str, Any]

    @property
    def aggregate(self) -> str:
        name = self.type.split(".", 1)[0]
        return AGGREGATE_NAMES.get(name, name)

    @property
    def event(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    @property
    def actor(self) -> str | None:
        by = self.data.get("by")
        return getattr(by, "person", None)

    @property
    def on_behalf_of(self) -> str | None:
        by = self.data.get("by")
        return getattr(by, "on_behalf_of", None)

    @property
    def correlation_id(self) -> str | None:
        by = self.data.get("by")
        return getattr(by, "correlation_id", None)


_transcoder = MsgspecTranscoder()


def to_change(note: Notification) -> Change:
    """Decode a notification (its state keeps exact types: UUID, Decimal, dates...)."""
    data = _transcoder.decode(note.state)
    at = data.pop("timestamp")
    return Change(
        position=note.id,
        aggregate_id=note.originator_id,  # type: ignore[arg-type]
        version=note.originator_version,
        type=note.topic.split(":", 1)[-1],
        at=at,
        data=data,
    )
