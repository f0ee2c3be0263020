"""The Project's events are declared explicitly, together, at the top of the class
(domain/project.py). eventsourcing triggers an explicit event with only the arguments
its class declares, so an ``@event`` method that took a field its event lacks would
lose it without a word: every method takes exactly its event's fields, in their order."""

from __future__ import annotations

import dataclasses
import inspect

from eventsourcing.domain import _created_event_classes, decorated_func_callers

from domain.project import Project
from domain.stored_names import EVENTS

# What every event records besides its own fields.
_COMMON = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _fields(event_class: type) -> list[str]:
    return [f.name for f in dataclasses.fields(event_class) if f.name not in _COMMON]


def _params(method: object, skip: tuple[str, ...] = ("self",)) -> list[str]:
    return [p for p in inspect.signature(method).parameters if p not in skip]  # type: ignore[arg-type]


def test_every_event_method_takes_exactly_its_events_fields() -> None:
    methods = {
        event_class: decorator.decorated_func
        for decorator, event_class in decorated_func_callers.items()
        if event_class.__qualname__.startswith("Project.")
    }
    assert {c.__name__ for c in methods} == {
        n.partition(".")[2] for n in EVENTS if n.startswith("Project.")
    } - {"Created"}
    for event_class, method in methods.items():
        assert event_class is getattr(Project, event_class.__name__)
        assert _params(method) == _fields(event_class), event_class.__qualname__


def test_the_created_event_holds_what_init_takes_but_the_id() -> None:
    assert _created_event_classes[Project] == [Project.Created]
    assert _params(Project.__init__, ("self", "id")) == _fields(Project.Created)
