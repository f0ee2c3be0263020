"""Stored events as projections see them: position, ids, type and plain attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification

from projections.light import EventData, light

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
    data: EventData
    actor: str | None = None
    on_behalf_of: str | None = None
    correlation_id: str | None = None

    @property
    def aggregate(self) -> str:
        name = self.type.split(".", 1)[0]
        return AGGREGATE_NAMES.get(name, name)

    @property
    def event(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    @property
    def key(self) -> str:
        """``Aggregate.Event``, e.g. ``Project.VoteCast`` (class aliases resolved)."""
        return f"{self.aggregate}.{self.event}"


_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_by_decoder = msgspec.json.Decoder()


def to_change(note: Notification) -> Change:
    """Decode a notification; attributes convert when read (see ``projections.light``)."""
    raw = _decoder.decode(note.state)
    at = light(_by_decoder.decode(raw.pop("timestamp")))
    data = EventData(raw)
    by = _by_decoder.decode(raw["by"]) if "by" in raw else None
    who = by["v"] if type(by) is dict and by.get("__t") == "dc" else {}
    return Change(
        position=note.id,
        aggregate_id=note.originator_id,  # type: ignore[arg-type]
        version=note.originator_version,
        type=note.topic.split(":", 1)[-1],
        at=at,
        data=data,
        actor=who.get("person"),
        on_behalf_of=who.get("on_behalf_of"),
        correlation_id=who.get("correlation_id"),
    )
