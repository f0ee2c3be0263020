"""Small validation helpers shared by value objects and aggregates."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from domain.bounds import MAX_DAYS, MAX_PERSON, MAX_TEXT, require_length, require_whole
from domain.errors import InvalidValue, RuleViolation


def require_text(value: object, what: str, limit: int = MAX_TEXT) -> str:
    """Return ``value`` if it is a non-blank string of at most ``limit`` characters, else
    raise InvalidValue (also for a NUL character or a lone surrogate, which no record of
    the act could keep)."""
    if not isinstance(value, str) or is_blank(value):
        raise InvalidValue(f"{what} is required")
    return require_note(value, what, limit)


def is_blank(value: str) -> bool:
    """True when nothing in ``value`` would show: only whitespace and hidden characters
    (a zero-width space, a byte-order mark, a Hangul filler) say nothing as a reason."""
    return all(c.isspace() or _is_hidden(c) for c in value)


def require_note(value: object, what: str, limit: int = MAX_TEXT) -> str:
    """Like ``require_text``, but empty text is allowed (optional notes, links, hashes)."""
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be text")
    if "\x00" in value:
        raise InvalidValue(f"{what} must not contain NUL characters")
    return require_length(value, what, limit)


# Invisible characters that are not control, format or separator characters: Unicode's
# Default_Ignorable_Code_Point letters and marks (Hangul fillers, Mongolian and other
# variation selectors, the combining grapheme joiner, ...) and the blank Braille pattern.
_INVISIBLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0x1D173, 0x1D17A),
    (0xE0100, 0xE01EF),
)
# Control, format (zero-width, soft hyphen, bidi controls), surrogate, private-use and
# unassigned characters, line and paragraph separators; Zs is checked apart (" " is fine).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def require_person(value: object, what: str) -> str:
    """A person id: non-blank text of at most MAX_PERSON characters, in Unicode NFC, with
    no leading or trailing whitespace and no control, format, invisible or separator
    character other than an inner space (so "paula\u200b" is never a second "paula")."""
    return _visible_name(value, f"{what}: a person id", what, MAX_PERSON)


def require_label(value: object, what: str, limit: int = MAX_TEXT) -> str:
    """A name others type or match by equality (a gate, a stage): non-blank text with no
    leading or trailing whitespace, in NFC, with no control, format, invisible or
    separator character other than an inner space (so "G0\u200b" is never a second "G0")."""
    return _visible_name(value, what, what, limit)


def _visible_name(value: object, subject: str, what: str, limit: int) -> str:
    """Text that reads as what it is: one spelling per name (``subject`` in messages)."""
    name = require_text(value, what, limit)
    if name != name.strip():
        raise InvalidValue(f"{subject} must have no leading or trailing whitespace")
    if not unicodedata.is_normalized("NFC", name):
        raise InvalidValue(f"{subject} must be in Unicode NFC")
    for char in name:
        if _is_hidden(char):
            raise InvalidValue(
                f"{subject} must not contain U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}): no control, format, invisible "
                "or separator characters"
            )
    return name


def _is_hidden(char: str) -> bool:
    category = unicodedata.category(char)
    if category in _REFUSED_CATEGORIES or (category == "Zs" and char != " "):
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _INVISIBLE)


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


def require_days(value: object, what: str, low: int = -MAX_DAYS) -> int:
    """A whole number of days (bools are not numbers here) in ``low .. MAX_DAYS``: a date
    in range plus that many days is still a date."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{what} must be a whole number of days")
    return require_whole(value, what, low, MAX_DAYS)


def require_recipient(to: str) -> str:
    """Whom an escalation goes to: a person."""
    require_person(to, "escalation recipient")
    return to


def require_new_escalation(escalations: tuple[tuple[str, date], ...], item: str, due: date) -> None:
    """An item is escalated once per deadline: a repeat for the same (item, due) is refused."""
    require_text(item, "escalated item")
    if not isinstance(due, date):
        raise InvalidValue("an escalation needs the due date it was overdue against")
    if (item, due) in escalations:
        raise RuleViolation(f"{item} was already escalated for its deadline {due}")
