"""Light decoding for projections: stored event state without rebuilding value objects.

The transcoder's tagged JSON is decoded by msgspec; a value object becomes a ``Light``
view whose attributes are converted only when a handler reads them (UUID, Decimal,
dates; enums as their plain values). Projections read a few fields of each event, so
this skips most of the work of building validated domain objects.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from domain.stored_names import STORED_NAMES
from eventstore.names import TypeNames
from eventstore.transcoder import TAG

_TYPES = TypeNames(STORED_NAMES)


class Light:
    """Attribute access to a stored value object's fields, converted on read."""

    __slots__ = ("_fields", "_topic")

    def __init__(self, fields: dict[str, Any], topic: str) -> None:
        self._fields, self._topic = fields, topic

    def __getattr__(self, name: str) -> Any:
        try:
            raw = self._fields[name]
        except KeyError:
            return _default(self._topic, name)
        return light(raw)

    def __repr__(self) -> str:
        return f"Light({self._topic}, {self._fields!r})"


def _default(topic: str, name: str) -> Any:
    """A field added after the value was stored: its declared default."""
    cls = _TYPES.resolve(topic)
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise AttributeError(name)


def _seq(d: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(light(x) for x in d["v"])


_TAGS = {
    "dc": lambda d: Light(d["v"], d["c"]),
    "uuid": lambda d: UUID(d["v"]),
    "dec": lambda d: Decimal(d["v"]),
    "dt": lambda d: datetime.fromisoformat(d["v"]),
    "date": lambda d: date.fromisoformat(d["v"]),
    "tup": _seq,
    "fset": _seq,
    "set": _seq,
    "enum": lambda d: d["v"],
    "dict": lambda d: {k: light(v) for k, v in d["v"].items()},
    "map": lambda d: {light(k): light(v) for k, v in d["v"]},
}


def light(raw: Any) -> Any:
    """Convert one stored value lazily (value objects stay ``Light`` views)."""
    kind = type(raw)
    if kind is dict:
        tag = raw.get(TAG)
        if tag is None:
            return {k: light(v) for k, v in raw.items()}
        return _TAGS[tag](raw)
    if kind is list:
        return [light(x) for x in raw]
    return raw


_decode_value = msgspec.json.Decoder().decode


class EventData:
    """An event's attributes, parsed and converted only when read (``data["gate"]``).

    ``raw`` maps each top-level attribute to its undecoded JSON (``msgspec.Raw``), so the
    parts a projection never reads (a vote's evidence, a project's template) cost only
    the scan that skipped them.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: dict[str, msgspec.Raw]) -> None:
        self._raw = raw

    def __getitem__(self, key: str) -> Any:
        return light(_decode_value(self._raw[key]))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._raw else default

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def raw(self, key: str) -> bytes:
        """An attribute's stored JSON, undecoded (e.g. to cache what is built from it)."""
        return bytes(self._raw[key])
