"""Stored events as projections see them: position, ids, type and plain attributes.

Every projection reads the same few things of each event: when, who, and a handful of
attributes. The frequent event types (votes, evidence, reviews: nine in ten events of
a real log) are decoded by msgspec straight into the fields projections read, skipping
the rest of the JSON (a vote's evidence list) in one pass; every other type keeps its
attributes as undecoded JSON converted on read (``projections.engine.event_data.EventData``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification

from domain.stored_names import STORED_NAMES
from projections.engine.event_data import EventData, light

# Topics written before stored names (``domain.project_base:ProjectBase.Cancelled``) ->
# the names that replaced them (``Project.Cancelled``).
_OLD_TOPICS = STORED_NAMES.old_topics


class Change(msgspec.Struct, frozen=True, gc=False):
    """One event: ``key`` and ``type`` are its stored name ``Aggregate.Event`` (e.g.
    ``Project.VoteCast``; old module-path topics read as the names that replaced them) and
    ``stamp`` the stored ISO text of ``at``. (A msgspec struct: a rebuild makes one per
    event, and these are cheaper to make than dataclasses and not tracked by the
    garbage collector.)"""

    position: int
    aggregate_id: UUID
    version: int
    type: str
    at: datetime
    data: Any  # EventData, or a plain dict for the frequent types
    actor: str | None = None
    on_behalf_of: str | None = None
    correlation_id: str | None = None
    key: str = ""
    aggregate: str = ""
    event: str = ""
    stamp: str = ""


# The transcoder's tagged values: {"__t": tag, "v": value} (value objects add "c").
class _Text(msgspec.Struct):
    v: str

    @property
    def value(self) -> str:  # as an enum's value reads
        return self.v


class _ActorFields(msgspec.Struct):
    person: str
    on_behalf_of: str | None = None
    correlation_id: str | None = None


class _Actor(msgspec.Struct):
    v: _ActorFields


class _Envelope(msgspec.Struct, kw_only=True):
    timestamp: _Text
    by: _Actor | None = None


class _Gate(_Envelope):
    gate: str


class _Vote(_Envelope):
    vote: _Text
    gate: str | None = None  # change-request votes name no gate
    rationale: str | None = None


class _Condition(_Envelope):
    condition_id: _Text
    note: str | None = None


class _VoteRecordFields(msgspec.Struct):
    voter: str
    vote: _Text


class _VoteRecord(msgspec.Struct):
    v: _VoteRecordFields


class _VoteRecords(msgspec.Struct):
    v: list[_VoteRecord]


class _Decided(_Envelope):
    gate: str
    decision: _Text
    rationale: str
    votes: _VoteRecords
    conditions: msgspec.Raw = msgspec.Raw(b"null")
    seen_position: int | None = None
    closes: bool | None = None  # absent in events recorded before it


def _decided(e: Any) -> dict[str, Any]:
    fields = {
        "gate": e.gate,
        "decision": e.decision.v,
        "rationale": e.rationale,
        "votes": [r.v for r in e.votes.v],
        "seen_position": e.seen_position,
        "closes": e.closes,
    }
    conditions = _value.decode(e.conditions)
    if conditions is not None:
        fields["conditions"] = light(conditions)
    return fields


def _gate(e: Any) -> dict[str, Any]:
    return {"gate": e.gate}


def _vote(e: Any) -> dict[str, Any]:
    fields = {"vote": e.vote.v, "rationale": e.rationale}
    if e.gate is not None:
        fields["gate"] = e.gate
    return fields


def _condition(e: Any) -> dict[str, Any]:
    return {"condition_id": UUID(e.condition_id.v), "note": e.note}


_FAST: dict[str, tuple[type[_Envelope], Callable[[Any], dict[str, Any]]]] = {
    "Project.VoteCast": (_Vote, _vote),
    "Project.VoteChanged": (_Vote, _vote),
    "ChangeRequest.VoteCast": (_Vote, _vote),
    "ChangeRequest.VoteChanged": (_Vote, _vote),
    "Project.EvidenceAmended": (_Gate, _gate),
    "Project.ReviewRequested": (_Gate, _gate),
    "Project.ConditionClosed": (_Condition, _condition),
    "Project.GateDecided": (_Decided, _decided),
}


@dataclass(frozen=True, slots=True)
class _Kind:
    """What a topic decodes to, worked out once per topic."""

    type: str
    aggregate: str
    event: str
    key: str
    decode: Callable[[bytes], Any] | None
    fields: Callable[[Any], dict[str, Any]] | None


_kinds: dict[str, _Kind] = {}
_raw_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_envelope = msgspec.json.Decoder(_Envelope)
_text = msgspec.json.Decoder(_Text)
_value = msgspec.json.Decoder()


def _kind(topic: str) -> _Kind:
    kind = _kinds.get(topic)
    if kind is None:
        type_ = _OLD_TOPICS.get(topic, topic).split(":", 1)[-1]
        aggregate, _, event = type_.rpartition(".")
        key = type_
        fast = _FAST.get(key)
        decode = msgspec.json.Decoder(fast[0]).decode if fast else None
        kind = _kinds[topic] = _Kind(type_, aggregate, event, key, decode, fast and fast[1])
    return kind


def change_of(position: int, aggregate_id: UUID, version: int, topic: str, state: bytes) -> Change:
    """Decode one stored event (the columns of the events table) for projections."""
    k = _kind(topic)
    data: Any = None
    if k.decode is not None:
        try:
            head = k.decode(state)
            data = k.fields(head)  # type: ignore[misc]
        except msgspec.ValidationError:  # an older or newer shape: read it the slow way
            data = None
    if data is None:
        raw = _raw_decoder.decode(state)
        data = EventData(raw)
        try:
            head = _envelope.decode(state)
        except msgspec.ValidationError:  # ``by`` is not a person: keep only the time
            head = _Envelope(timestamp=_text.decode(raw["timestamp"]))
        raw.pop("timestamp", None)
    stamp = head.timestamp.v
    who = head.by.v if head.by is not None else None
    return Change(
        position,
        aggregate_id,
        version,
        k.type,
        datetime.fromisoformat(stamp),
        data,
        who and who.person,
        who and who.on_behalf_of,
        who and who.correlation_id,
        k.key,
        k.aggregate,
        k.event,
        stamp,
    )


def to_change(note: Notification) -> Change:
    """Decode a notification read through the recorder."""
    return change_of(
        note.id,
        note.originator_id,  # type: ignore[arg-type]
        note.originator_version,
        note.topic,
        note.state,
    )
