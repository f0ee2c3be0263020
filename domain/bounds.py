"""The ranges every value the domain accepts stays inside.

Whatever a command stores must later be projected, stored in PostgreSQL (``date``,
``timestamptz``, ``numeric``, ``int``, btree-indexed ``text``) and replayed, and the
domain's own arithmetic (a due date plus its days, an end date plus a schedule delta, a
budget plus a cost delta) must not overflow Python's calendar on the way. So:

- dates and times lie in 1970-01-01 .. 2999-12-31 (times as UTC; a time given with
  another offset is converted): wide enough for any plan a board governs, and far
  enough from year 9999 that a date plus any allowed number of days stays a date;
- a number of days (due days, tolerances, schedule deltas) is at most 3650 (ten years);
- an amount of money has at most 15 digits before the point and 4 after it;
- counts and positions fit PostgreSQL's ``int`` / ``bigint``;
- texts are at most 4000 characters (names 200, person ids 100) of valid unicode.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from domain.errors import InvalidValue

EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)
EARLIEST_TIME = datetime.combine(EARLIEST_DATE, time.min, UTC)
LATEST_TIME = datetime.combine(LATEST_DATE, time.max, UTC)
MAX_DAYS = 3650
AMOUNT_DIGITS = 15  # before the point
AMOUNT_PLACES = 4  # after the point
MAX_AMOUNT = Decimal(10) ** AMOUNT_DIGITS - Decimal(10) ** -AMOUNT_PLACES
MAX_PERCENT = Decimal(1000)
MAX_INT = 2**31 - 1  # PostgreSQL int: versions, counts
MAX_POSITION = 2**63 - 1  # PostgreSQL bigint: event positions
MAX_TEXT = 4000
MAX_NAME = 200
MAX_PERSON = 100

_AMOUNT_STEP = Decimal(10) ** -AMOUNT_PLACES


def require_date(value: object, what: str) -> date:
    """A calendar date (not a datetime) inside EARLIEST_DATE .. LATEST_DATE."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(f"{what} must be a date")
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidValue(f"{what} must lie in {EARLIEST_DATE} .. {LATEST_DATE}, got {value}")
    return value


def require_time(value: object, what: str) -> datetime:
    """A timezone-aware datetime inside the range, returned in UTC."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidValue(f"{what} must be a timezone-aware datetime")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # an offset pushed it past year 1 or 9999
        utc = None
    if utc is None or not EARLIEST_TIME <= utc <= LATEST_TIME:
        span = f"{EARLIEST_TIME.isoformat()} .. {LATEST_TIME.isoformat()}"
        raise InvalidValue(f"{what} must lie in {span} (UTC), got {value.isoformat()}")
    return utc


def require_amount(value: object, what: str) -> Decimal:
    """A finite Decimal of at most AMOUNT_DIGITS digits before the point and
    AMOUNT_PLACES after it."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidValue(f"{what} must be a finite Decimal, got {value!r}")
    if abs(value) > MAX_AMOUNT:
        raise InvalidValue(f"{what} must have at most {AMOUNT_DIGITS} digits before the point")
    if value != value.quantize(_AMOUNT_STEP):
        raise InvalidValue(f"{what} must have at most {AMOUNT_PLACES} digits after the point")
    return value


def require_whole(value: object, what: str, low: int, high: int) -> int:
    """An int (bools are not numbers here) in ``low .. high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{what} must be a whole number")
    if not low <= value <= high:
        raise InvalidValue(f"{what} must lie in {low} .. {high}, got {value}")
    return value


def require_length(value: str, what: str, limit: int) -> str:
    """At most ``limit`` characters, every one storable as UTF-8 (no lone surrogate)."""
    if len(value) > limit:
        raise InvalidValue(f"{what} must be at most {limit} characters, got {len(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValue(f"{what} must be valid unicode (no lone surrogates)") from exc
    return value
