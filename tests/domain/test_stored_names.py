"""Every event the domain can record and every value type it stores has a stored name
(docs/stored-names.md): a new event or value object without one fails here."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import pkgutil
from pathlib import Path

from eventsourcing.domain import _created_event_classes, decorated_func_callers

import domain
from domain.stored_names import AGGREGATES, EVENTS, STORED_NAMES, VALUES, StoredNames


def _domain_classes() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{info.name}")
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type) and c.__module__ == module.__name__
        ]
    return found


def test_every_event_the_aggregates_can_record_has_a_stored_name() -> None:
    _domain_classes()  # import every module, so that every @event is declared
    recorded = {c for c in decorated_func_callers.values() if c.__module__.startswith("domain.")}
    for aggregate in AGGREGATES.values():
        recorded |= set(_created_event_classes.get(aggregate, []))
    named = set(EVENTS.values())
    assert not {c.__qualname__ for c in recorded - named}, "events without a stored name"
    assert not {c.__qualname__ for c in named - recorded}, "names of events never recorded"


def test_every_stored_value_type_has_a_stored_name() -> None:
    values = {
        c
        for c in _domain_classes()
        if (dataclasses.is_dataclass(c) or issubclass(c, enum.Enum))
        and c is not StoredNames  # the registry itself is never stored
    }
    assert not {c.__qualname__ for c in values - set(VALUES.values())}


def test_names_are_unique_and_never_module_paths() -> None:
    groups = (AGGREGATES, EVENTS, VALUES)
    assert len(STORED_NAMES.types) == sum(len(g) for g in groups)
    assert len(set(STORED_NAMES.types.values())) == len(STORED_NAMES.types)
    assert not [n for n in STORED_NAMES.types if ":" in n or not n.isascii()]
    for name, cls in EVENTS.items():
        event_name = name.partition(".")[2]
        assert event_name == cls.__name__, name


# Names first written after stored names existed: they never had a module-path topic.
SINCE_V1 = {
    "Portfolio.EnvelopeChanged",
    "Project.EscalatedTo",
    "ChangeRequest.EscalatedTo",
    "SignOff.EscalatedTo",
    "Portfolio.TemplateChanged",
    "Project.TemplateMigrated",
    "TemplateSeries",
    "Template.Created",
    "Template.Published",
}


def test_every_old_topic_names_a_registered_type() -> None:
    assert set(STORED_NAMES.old_topics.values()) | SINCE_V1 == set(STORED_NAMES.types)
    assert all(":" in topic for topic in STORED_NAMES.old_topics)


def test_docs_list_every_stored_name() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "stored-names.md").read_text()
    assert not [n for n in STORED_NAMES.types if f"`{n}`" not in page]
