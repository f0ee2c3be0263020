"""Small validation helpers shared by value objects and aggregates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from domain.errors import InvalidValue, RuleViolation


def require_text(value: object, what: str) -> str:
    """Return ``value`` if it is a non-blank string, else raise InvalidValue (also for a
    NUL character, which no record of the act could keep)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{what} is required")
    if "\x00" in value:
        raise InvalidValue(f"{what} must not contain NUL characters")
    return value


def as_tuple(value: Iterable[Any], what: str) -> tuple[Any, ...]:
    """Accept any non-string iterable (e.g. a decoded JSON list) and freeze it."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidValue(f"{what} must be a sequence")
    return tuple(value)


def freeze(obj: object, field: str, what: str) -> None:
    """Replace a frozen dataclass field with its tuple form (lists become tuples)."""
    object.__setattr__(obj, field, as_tuple(getattr(obj, field), what))


E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], value: object) -> E:
    """``kind(value)``, with an unknown value reported as InvalidValue."""
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidValue(f"unknown {kind.__name__.lower()} {value!r}") from exc


def require_days(value: object, what: str) -> int:
    """A whole number of days (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{what} must be a whole number of days")
    return value


def require_new_escalation(escalations: tuple[tuple[str, date], ...], item: str, due: date) -> None:
    """An item is escalated once per deadline: a repeat for the same (item, due) is refused."""
    require_text(item, "escalated item")
    if not isinstance(due, date):
        raise InvalidValue("an escalation needs the due date it was overdue against")
    if (item, due) in escalations:
        raise RuleViolation(f"{item} was already escalated for its deadline {due}")
