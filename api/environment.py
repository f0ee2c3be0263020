"""Settings from environment variables: how a setting names its variable, and one parser
per kind of value (a switch, a whole number in a range, seconds, a path, ...).

A parser takes the variable's name and its text and returns the value, or raises
``ValueError`` with one line that names the variable, says what it takes and quotes what
it was given. A variable that is unset or blank leaves its setting's default (unless it
is declared ``blank_is_value``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

Parser = Callable[[str, str], T]
# What a setting is when its variable is unset, from the other settings' values.
Unset = Callable[[Mapping[str, Any]], object]

METADATA_KEY = "environment"


@dataclass(frozen=True)
class Variable:
    """The environment variable a setting is read from, and how its text is parsed."""

    name: str
    parse: Parser[object]
    blank_is_value: bool = False  # a blank value is parsed, not taken as unset
    unset: Unset | None = None  # the default when unset, if it depends on other settings

    def read(self, env: Mapping[str, str]) -> tuple[bool, object]:
        """``(True, value)`` if ``env`` sets this variable, else ``(False, None)``."""
        text = env.get(self.name)
        if text is None or (not text.strip() and not self.blank_is_value):
            return False, None
        return True, self.parse(self.name, text)


def variable(
    name: str, parse: Parser[object], *, blank_is_value: bool = False, unset: Unset | None = None
) -> dict[str, Variable]:
    """A dataclass field's ``metadata`` binding it to the variable ``name``."""
    return {METADATA_KEY: Variable(name, parse, blank_is_value, unset)}


def text(name: str, value: str) -> str:
    """Any text, as given."""
    return value


def path(name: str, value: str) -> Path:
    """A file or folder; ``~`` is the user's home."""
    return Path(value).expanduser()


def pem_or_path(name: str, value: str) -> str:
    """A PEM text, or the path of a file holding one."""
    if "BEGIN" in value:
        return value
    try:
        return Path(value).expanduser().read_text()
    except OSError as exc:
        raise ValueError(f"{name}: cannot read {value}: {exc.strerror or exc}") from None


def switch(name: str, value: str) -> bool:
    """``on`` or ``off`` (any case)."""
    word = value.strip().lower()
    if word in ("on", "off"):
        return word == "on"
    raise ValueError(f"{name} must be 'on' or 'off', not {value!r}")


def choice(*words: str) -> Parser[str]:
    """One of ``words`` (any case)."""

    def parse(name: str, value: str) -> str:
        word = value.strip().lower()
        if word in words:
            return word
        raise ValueError(f"{name} must be {' or '.join(repr(w) for w in words)}, not {value!r}")

    return parse


def whole(low: int, high: int, *, off: bool = False) -> Parser[int]:
    """A whole number from ``low`` to ``high``; with ``off``, ``off`` means 0."""
    alt = " or 'off'" if off else ""

    def parse(name: str, value: str) -> int:
        if off and value.strip().lower() == "off":
            return 0
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise ValueError(
                f"{name} must be a whole number from {low} to {high}{alt}, not {value!r}"
            )
        return number

    return parse


def minutes(low: int, high: int) -> Parser[float]:
    """A whole number of minutes from ``low`` to ``high``, as seconds."""
    count = whole(low, high)
    return lambda name, value: 60.0 * count(name, value)


def seconds(high: float = 3600) -> Parser[float]:
    """Seconds (decimals allowed), more than 0 and at most ``high``."""

    def parse(name: str, value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not 0 < number <= high:  # also refuses nan
            raise ValueError(
                f"{name} must be seconds, more than 0 and at most {high:g}, not {value!r}"
            )
        return number

    return parse


ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def role_or_off(name: str, value: str) -> str | None:
    """A PostgreSQL role name (lower-case letters, digits, _), or ``off`` (or blank): none."""
    word = value.strip()
    if word.lower() in ("", "off"):
        return None
    if not ROLE_NAME.fullmatch(word):
        raise ValueError(
            f"{name} must be a role name (lower-case letters, digits, _) or 'off', not {word!r}"
        )
    return word
