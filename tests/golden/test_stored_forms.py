"""Golden tests: the exact stored form (topic and state bytes) of one sample of every
event type and of a snapshot of every aggregate type. A failure here means the record
would change: add a new event or an upcaster instead (docs/stored-names.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent

from domain.stored_names import AGGREGATES, EVENTS, STORED_NAMES
from eventstore.mapper import new_mapper
from eventstore.names import TypeNames, UnnamedType
from tests.golden.samples import load_golden, stored_forms

FORMS = stored_forms()
GOLDEN = load_golden()


def test_every_event_type_and_aggregate_snapshot_has_a_golden_sample() -> None:
    snapshots = {f"Snapshot:{name}" for name in AGGREGATES if name != "Snapshot"}
    assert set(FORMS) == set(EVENTS) | snapshots
    assert set(GOLDEN) == set(FORMS)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_stored_form_is_pinned(name: str) -> None:
    assert FORMS[name] == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_pinned_form_reads_back_and_writes_the_same_bytes(name: str) -> None:
    mapper = new_mapper(TypeNames(STORED_NAMES))
    pinned = GOLDEN[name]
    stored = StoredEvent(uuid4(), 1, pinned["topic"], pinned["state"].encode())
    again = mapper.to_stored_event(mapper.to_domain_event(stored))
    assert (again.topic, again.state) == (stored.topic, stored.state)


@dataclass(frozen=True)
class Colour:
    name: str


class Unnamed(Aggregate):
    class Painted(Aggregate.Event):
        colour: Colour
        when: date

    @event(Painted)
    def paint(self, colour: Colour, when: date) -> None:
        self.colour = colour


def test_an_event_or_value_without_a_stored_name_is_refused_on_write() -> None:
    mapper = new_mapper(TypeNames(STORED_NAMES))
    thing = Unnamed()
    with pytest.raises(UnnamedType, match="has no stored name"):
        mapper.to_stored_event(thing.collect_events()[0])
    named = TypeNames(
        _Registry({"Unnamed.Created": Unnamed.Created, "Unnamed.Painted": Unnamed.Painted})
    )
    thing.paint(Colour("red"), date(2027, 1, 1))
    with pytest.raises(UnnamedType, match="Colour"):
        new_mapper(named).to_stored_event(thing.collect_events()[-1])


@dataclass(frozen=True)
class _Registry:
    types: dict[str, type]
    old_topics: dict[str, str] = field(default_factory=dict)


OLD_FORMS = json.loads(
    (Path(__file__).with_name("old") / "role-and-board-events-without-reason.json").read_text()
)


@pytest.mark.parametrize("name", sorted(OLD_FORMS))
def test_a_change_recorded_before_reasons_reads_with_no_reason_and_keeps_its_bytes(
    name: str,
) -> None:
    """Board and role changes gained a ``reason`` field (added with a default, the way
    docs/stored-names.md allows): what was pinned before still reads, its reason empty,
    and writes back byte for byte."""
    mapper = new_mapper(TypeNames(STORED_NAMES))
    pinned = OLD_FORMS[name]
    stored = StoredEvent(uuid4(), 2, pinned["topic"], pinned["state"].encode())
    event = mapper.to_domain_event(stored)
    assert event.reason == ""
    assert b'"reason"' not in stored.state
    assert FORMS[name]["state"] != pinned["state"]  # the new form does carry a reason
    again = mapper.to_stored_event(event)
    assert (again.topic, again.state) == (stored.topic, stored.state)
