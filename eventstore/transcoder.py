"""A msgspec-based transcoder for eventsourcing's ``Mapper``.

JSON has no UUID, Decimal, datetime, date, tuple or dataclass, so those values are
written as small tagged objects (``{"__t": "uuid", "v": "..."}``) and restored exactly on
the way back. Dataclasses (value objects) are written with their topic, so nested value
objects round-trip without registering each type. ``str`` enums are written with their
topic too. Stored formats only ever gain fields with defaults (see STYLE.md).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

TAG = "__t"

_topic_cache: dict[type, str] = {}
_class_cache: dict[str, Any] = {}


def _topic(cls: type) -> str:
    topic = _topic_cache.get(cls)
    if topic is None:
        topic = _topic_cache[cls] = get_topic(cls)
    return topic


def resolve_cached(topic: str) -> Any:
    """The class stored under ``topic`` (cached)."""
    cls = _class_cache.get(topic)
    if cls is None:
        cls = _class_cache[topic] = resolve_topic(topic)
    return cls


_resolve = resolve_cached


def _enc_dataclass(obj: Any) -> dict[str, Any]:
    fields = {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return {TAG: "dc", "c": _topic(type(obj)), "v": fields}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    UUID: lambda o: {TAG: "uuid", "v": o.hex},
    Decimal: lambda o: {TAG: "dec", "v": str(o)},
    datetime: lambda o: {TAG: "dt", "v": o.isoformat()},
    date: lambda o: {TAG: "date", "v": o.isoformat()},
    tuple: lambda o: {TAG: "tup", "v": [to_plain(x) for x in o]},
    frozenset: lambda o: {TAG: "fset", "v": [to_plain(x) for x in o]},
    set: lambda o: {TAG: "set", "v": [to_plain(x) for x in o]},
    list: lambda o: [to_plain(x) for x in o],
}


def to_plain(obj: Any) -> Any:
    """Turn a value into JSON-able data that keeps its exact Python type in tags."""
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    cls = type(obj)
    if cls is str:
        return obj
    if cls is dict:
        return _enc_dict(obj)
    encoder = _ENCODERS.get(cls)
    if encoder is not None:
        return encoder(obj)
    if isinstance(obj, enum.Enum):
        return {TAG: "enum", "c": _topic(cls), "v": obj.value}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _enc_dataclass(obj)
    for base, base_encoder in _ENCODERS.items():
        if isinstance(obj, base):
            return base_encoder(obj)
    if isinstance(obj, str):
        return str(obj)
    raise TypeError(f"cannot store a value of type {cls.__qualname__}")


def _enc_dict(obj: dict[Any, Any]) -> Any:
    if all(type(k) is str for k in obj):
        out = {k: to_plain(v) for k, v in obj.items()}
        if TAG in obj:
            return {TAG: "dict", "v": out}
        return out
    return {TAG: "map", "v": [[to_plain(k), to_plain(v)] for k, v in obj.items()]}


_MISSING = dataclasses.MISSING
_dc_specs: dict[type, tuple[tuple[str, Any, Any], ...]] = {}


def _dc_spec(cls: type) -> tuple[tuple[str, Any, Any], ...]:
    spec = _dc_specs.get(cls)
    if spec is None:
        spec = _dc_specs[cls] = tuple(
            (f.name, f.default, f.default_factory) for f in dataclasses.fields(cls) if f.init
        )
    return spec


def _dec_dataclass(data: dict[str, Any]) -> Any:
    """Rebuild a stored value object without re-running its validation.

    What was stored had passed ``__post_init__`` when it was created; fields added since
    (always with defaults, see STYLE.md) take their defaults; unknown fields are dropped.
    """
    cls = _resolve(data["c"])
    values = data["v"]
    obj = object.__new__(cls)
    for name, default, factory in _dc_spec(cls):
        if name in values:
            value = from_plain(values[name])
        elif default is not _MISSING:
            value = default
        elif factory is not _MISSING:
            value = factory()
        else:
            raise TypeError(f"stored {cls.__qualname__} lacks the field {name!r}")
        object.__setattr__(obj, name, value)
    return obj


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "uuid": lambda d: UUID(d["v"]),
    "dec": lambda d: Decimal(d["v"]),
    "dt": lambda d: datetime.fromisoformat(d["v"]),
    "date": lambda d: date.fromisoformat(d["v"]),
    "tup": lambda d: tuple(from_plain(x) for x in d["v"]),
    "fset": lambda d: frozenset(from_plain(x) for x in d["v"]),
    "set": lambda d: {from_plain(x) for x in d["v"]},
    "enum": lambda d: _resolve(d["c"])(d["v"]),
    "dc": _dec_dataclass,
    "dict": lambda d: {k: from_plain(v) for k, v in d["v"].items()},
    "map": lambda d: {from_plain(k): from_plain(v) for k, v in d["v"]},
}


def from_plain(data: Any) -> Any:
    """Inverse of :func:`to_plain`."""
    cls = type(data)
    if cls is dict:
        tag = data.get(TAG)
        if tag is not None:
            return _DECODERS[tag](data)
        return {k: from_plain(v) for k, v in data.items()}
    if cls is list:
        return [from_plain(x) for x in data]
    return data


class MsgspecTranscoder(Transcoder):
    """Encodes event state as compact JSON with msgspec, keeping exact Python types."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder()

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(to_plain(obj))

    def decode(self, data: bytes) -> Any:
        return from_plain(self._decoder.decode(data))


def new_mapper() -> Mapper[UUID]:
    """The mapper every Gateledger component uses for stored events."""
    return Mapper(transcoder=MsgspecTranscoder())
