"""Small validation helpers shared by value objects and aggregates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.errors import InvalidValue


def require_text(value: object, what: str) -> str:
    """Return ``value`` if it is a non-blank string, else raise InvalidValue."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{what} is required")
    return value


def as_tuple(value: Iterable[Any], what: str) -> tuple[Any, ...]:
    """Accept any non-string iterable (e.g. a decoded JSON list) and freeze it."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidValue(f"{what} must be a sequence")
    return tuple(value)


def freeze(obj: object, field: str, what: str) -> None:
    """Replace a frozen dataclass field with its tuple form (lists become tuples)."""
    object.__setattr__(obj, field, as_tuple(getattr(obj, field), what))
