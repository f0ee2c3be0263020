"""Stable stored names: the names events and stored values are written under.

A stored topic or value tag is a registered name (``Project.VoteCast``, ``Money``), not a
module path, so classes may move without touching the record. The registry is given at
composition (the domain declares it; this package knows no domain class): ``types`` maps
each name to its class, ``old_topics`` maps every topic written by earlier versions
(``domain.project:Project.VoteCast``) to the name that replaced it.

With no registry (``TypeNames()``) names are module paths, as eventsourcing writes them:
for tests of the store itself and benchmarks of raw appends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from eventsourcing.utils import get_topic, resolve_topic


class NameRegistry(Protocol):
    """What the domain declares: name -> class, and old topic -> name."""

    @property
    def types(self) -> Mapping[str, type]: ...

    @property
    def old_topics(self) -> Mapping[str, str]: ...


class UnnamedType(TypeError):
    """A class without a registered stored name was about to be written."""


class TypeNames:
    """Class <-> stored name, reading old topics too (lookups are cached dicts)."""

    def __init__(self, registry: NameRegistry | None = None) -> None:
        types = dict(registry.types) if registry is not None else {}
        old = dict(registry.old_topics) if registry is not None else {}
        self.strict = registry is not None
        self._names: dict[type, str] = {}
        for name, cls in types.items():
            if self._names.setdefault(cls, name) != name:
                raise ValueError(f"{cls.__qualname__} is registered twice")
        unknown = sorted(n for n in old.values() if n not in types)
        if unknown:
            raise ValueError(f"old topics map to unregistered names: {unknown}")
        self._canonical: dict[str, str] = {**old, **{n: n for n in types}}
        self._classes: dict[str, Any] = {t: types[n] for t, n in self._canonical.items()}

    def name_of(self, cls: type) -> str:
        """The name ``cls`` is written under (its module path without a registry)."""
        name = self._names.get(cls)
        if name is None:
            if self.strict:
                raise UnnamedType(
                    f"{get_topic(cls)} has no stored name: register one (docs/stored-names.md)"
                )
            name = self._names[cls] = get_topic(cls)
        return name

    def resolve(self, name: str) -> Any:
        """The class stored under ``name``: a registered name, an old topic, or (for
        unregistered classes) a module path."""
        cls = self._classes.get(name)
        if cls is None:
            cls = self._classes[name] = resolve_topic(name)
        return cls

    def canonical(self, topic: str) -> str:
        """The current name of a stored topic (old topics map to their new names)."""
        return self._canonical.get(topic, topic)

    def name_of_topic(self, topic: str) -> str:
        """The stored name of the class that a module-path ``topic`` locates (what
        eventsourcing puts in created events and snapshots)."""
        name = self._canonical.get(topic)
        if name is None:
            name = self.name_of(self.resolve(topic))
            self._canonical.setdefault(topic, name)
        return name
