"""Portfolio, ChangeRequest, SignOff and DelegationBook declare their events explicitly,
together at the top of each class, as Project does (tests/domain/test_project_events.py).
eventsourcing triggers an explicit event with only the arguments its class declares, so
an ``@event`` method that took a field its event lacks would lose it without a word:
every method takes exactly its event's fields, in their order."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from eventsourcing.domain import Aggregate, _created_event_classes, decorated_func_callers

from domain.change_request import ChangeRequest
from domain.delegation import DelegationBook
from domain.portfolio import Portfolio
from domain.signoff import SignOff
from domain.stored_names import AGGREGATES, EVENTS

# What every event records besides its own fields.
_COMMON = {"originator_id", "originator_version", "timestamp", "originator_topic"}
# Each aggregate, the prefix of its stored event names and its first event's name.
DECLARED = [
    (Portfolio, "Portfolio", "Created"),
    (ChangeRequest, "ChangeRequest", "Created"),
    (SignOff, "SignOff", "Requested"),
    (DelegationBook, "Delegation", "Created"),
]


def _fields(event_class: type) -> list[str]:
    return [f.name for f in dataclasses.fields(event_class) if f.name not in _COMMON]


def _params(method: object, skip: tuple[str, ...] = ("self",)) -> list[str]:
    assert callable(method)
    return [p for p in inspect.signature(method).parameters if p not in skip]


@pytest.mark.parametrize(("aggregate", "prefix", "first"), DECLARED)
def test_every_event_method_takes_exactly_its_events_fields(
    aggregate: type[Aggregate], prefix: str, first: str
) -> None:
    methods = {
        event_class: decorator.decorated_func
        for decorator, event_class in decorated_func_callers.items()
        if event_class.__qualname__.startswith(f"{aggregate.__name__}.")
    }
    stored = {n.partition(".")[2] for n in EVENTS if n.startswith(f"{prefix}.")}
    assert {c.__name__ for c in methods} == stored - {first}
    for event_class, method in methods.items():
        assert event_class is getattr(aggregate, event_class.__name__)
        assert event_class is EVENTS[f"{prefix}.{event_class.__name__}"]
        assert _params(method) == _fields(event_class), event_class.__qualname__


@pytest.mark.parametrize(("aggregate", "prefix", "first"), DECLARED)
def test_the_first_event_holds_what_init_takes_but_the_id(
    aggregate: type[Aggregate], prefix: str, first: str
) -> None:
    created = getattr(aggregate, first)
    assert AGGREGATES[aggregate.__name__] is aggregate
    assert _created_event_classes[aggregate] == [created] == [EVENTS[f"{prefix}.{first}"]]
    assert _params(aggregate.__init__, ("self", "id")) == _fields(created)
