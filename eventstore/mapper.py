"""The mapper: domain events <-> stored events, under stable stored names.

eventsourcing's ``Mapper`` writes ``get_topic(type(event))`` (a module path) as the
topic, and created events and snapshots also carry their aggregate's module path in
their state (``originator_topic``, ``topic``). This mapper writes registered names in
all three places and, reading, accepts those names and every old topic
(``eventstore.names``). Upcasting (``class_version``) works as in eventsourcing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import CanSnapshotAggregate
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from eventstore.names import TypeNames
from eventstore.transcoder import MsgspecTranscoder

# Where eventsourcing keeps an aggregate's class in a created event's or a snapshot's state.
_CREATED_KEY = "originator_topic"
_SNAPSHOT_KEY = "topic"


class NamedMapper(Mapper[UUID]):
    """A ``Mapper`` that writes and reads stable stored names."""

    def __init__(self, names: TypeNames | None = None) -> None:
        self.names = names if names is not None else TypeNames()
        super().__init__(transcoder=MsgspecTranscoder(self.names))
        self._snapshot: dict[type, bool] = {}

    def _is_snapshot(self, cls: type) -> bool:
        known = self._snapshot.get(cls)
        if known is None:
            known = self._snapshot[cls] = issubclass(cls, CanSnapshotAggregate)
        return known

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        state = dict(vars(domain_event))
        key = _SNAPSHOT_KEY if self._is_snapshot(cls) else _CREATED_KEY
        if key in state:
            state[key] = self.names.name_of_topic(state[key])
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=self.names.name_of(cls),
            state=self.transcoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = self.names.resolve(stored_event.topic)
        state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        key = _SNAPSHOT_KEY if self._is_snapshot(cls) else _CREATED_KEY
        if key in state:  # eventsourcing resolves it with ``resolve_topic``: a module path
            state[key] = get_topic(self.names.resolve(state[key]))
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event


def new_mapper(names: TypeNames | None = None) -> NamedMapper:
    """The mapper every Gateledger component uses for stored events (module-path names
    when no registry is given: only for tests of the store and raw benchmarks)."""
    return NamedMapper(names)
