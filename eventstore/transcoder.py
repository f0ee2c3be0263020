"""A msgspec-based transcoder for eventsourcing's ``Mapper``.

JSON has no UUID, Decimal, datetime, date, tuple or dataclass, so those values are
written as small tagged objects (``{"__t": "uuid", "v": "..."}``) and restored exactly on
the way back. Dataclasses (value objects) and enums are written with their stored name
(``{"__t": "dc", "c": "Money", "v": {...}}``, see ``eventstore.names``), so nested value
objects round-trip. Stored formats only ever gain fields with defaults (see STYLE.md).
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
from eventsourcing.persistence import Transcoder

from eventstore.names import TypeNames

TAG = "__t"

_MISSING = dataclasses.MISSING
_dc_specs: dict[type, tuple[tuple[str, Any, Any], ...]] = {}


def _dc_spec(cls: type) -> tuple[tuple[str, Any, Any], ...]:
    spec = _dc_specs.get(cls)
    if spec is None:
        spec = _dc_specs[cls] = tuple(
            (f.name, f.default, f.default_factory) for f in dataclasses.fields(cls) if f.init
        )
    return spec


def _encoder(name_of: Callable[[type], str]) -> Callable[[Any], Any]:
    """``to_plain``: a value as JSON-able data that keeps its exact Python type in tags."""

    def to_plain(obj: Any) -> Any:
        if obj is None or isinstance(obj, bool | int | float):
            return obj
        cls = type(obj)
        if cls is str:
            return obj
        if cls is dict:
            return enc_dict(obj)
        encoder = encoders.get(cls)
        if encoder is not None:
            return encoder(obj)
        if isinstance(obj, enum.Enum):
            return {TAG: "enum", "c": name_of(cls), "v": obj.value}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            fields = {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
            return {TAG: "dc", "c": name_of(cls), "v": fields}
        for base, base_encoder in encoders.items():
            if isinstance(obj, base):
                return base_encoder(obj)
        if isinstance(obj, str):
            return str(obj)
        raise TypeError(f"cannot store a value of type {cls.__qualname__}")

    def enc_dict(obj: dict[Any, Any]) -> Any:
        if all(type(k) is str for k in obj):
            out = {k: to_plain(v) for k, v in obj.items()}
            return {TAG: "dict", "v": out} if TAG in obj else out
        return {TAG: "map", "v": [[to_plain(k), to_plain(v)] for k, v in obj.items()]}

    encoders: dict[type, Callable[[Any], Any]] = {
        UUID: lambda o: {TAG: "uuid", "v": o.hex},
        Decimal: lambda o: {TAG: "dec", "v": str(o)},
        datetime: lambda o: {TAG: "dt", "v": o.isoformat()},
        date: lambda o: {TAG: "date", "v": o.isoformat()},
        tuple: lambda o: {TAG: "tup", "v": [to_plain(x) for x in o]},
        frozenset: lambda o: {TAG: "fset", "v": [to_plain(x) for x in o]},
        set: lambda o: {TAG: "set", "v": [to_plain(x) for x in o]},
        list: lambda o: [to_plain(x) for x in o],
    }
    return to_plain


def _decoder(resolve: Callable[[str], Any]) -> Callable[[Any], Any]:
    """``from_plain``: the inverse of ``to_plain``."""

    def from_plain(data: Any) -> Any:
        cls = type(data)
        if cls is dict:
            tag = data.get(TAG)
            if tag is not None:
                return decoders[tag](data)
            return {k: from_plain(v) for k, v in data.items()}
        if cls is list:
            return [from_plain(x) for x in data]
        return data

    def dec_dataclass(data: dict[str, Any]) -> Any:
        """A stored value object, rebuilt without re-running its validation: what was
        stored passed ``__post_init__`` when it was created; fields added since (always
        with defaults, see STYLE.md) take their defaults; unknown fields are dropped."""
        cls = resolve(data["c"])
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

    decoders: dict[str, Callable[[dict[str, Any]], Any]] = {
        "uuid": lambda d: UUID(d["v"]),
        "dec": lambda d: Decimal(d["v"]),
        "dt": lambda d: datetime.fromisoformat(d["v"]),
        "date": lambda d: date.fromisoformat(d["v"]),
        "tup": lambda d: tuple(from_plain(x) for x in d["v"]),
        "fset": lambda d: frozenset(from_plain(x) for x in d["v"]),
        "set": lambda d: {from_plain(x) for x in d["v"]},
        "enum": lambda d: resolve(d["c"])(d["v"]),
        "dc": dec_dataclass,
        "dict": lambda d: {k: from_plain(v) for k, v in d["v"].items()},
        "map": lambda d: {from_plain(k): from_plain(v) for k, v in d["v"]},
    }
    return from_plain


class MsgspecTranscoder(Transcoder):
    """Encodes event state as compact JSON with msgspec, keeping exact Python types."""

    def __init__(self, names: TypeNames | None = None) -> None:
        self.names = names if names is not None else TypeNames()
        self.to_plain = _encoder(self.names.name_of)
        self.from_plain = _decoder(self.names.resolve)
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder()

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(self.to_plain(obj))

    def decode(self, data: bytes) -> Any:
        return self.from_plain(self._decoder.decode(data))
