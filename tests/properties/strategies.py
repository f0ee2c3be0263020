"""Odd and extreme values for request bodies, as JSON would carry them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

# Edges first: hypothesis tries the values listed in sampled_from early and often.
EDGE_DATES = [
    date.min,
    date(1, 1, 2),
    date(1969, 12, 31),
    date(1970, 1, 1),
    date(2000, 2, 29),
    date(2024, 2, 29),
    date(2999, 12, 31),
    date(3000, 1, 1),
    date(9999, 12, 30),
    date.max,
]


def dates() -> st.SearchStrategy[date]:
    return st.one_of(st.sampled_from(EDGE_DATES), st.dates())


def iso_dates() -> st.SearchStrategy[str]:
    return dates().map(date.isoformat)


OFFSETS = [timedelta(hours=23, minutes=59), -timedelta(hours=23, minutes=59), timedelta(0)]


def offsets() -> st.SearchStrategy[timezone]:
    minutes = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1)
    deltas = st.one_of(st.sampled_from(OFFSETS), minutes.map(lambda m: timedelta(minutes=m)))
    return deltas.map(timezone)


def iso_times() -> st.SearchStrategy[str]:
    """RFC 3339 times with any offset, near the calendar's ends or near now."""
    edge = st.sampled_from([datetime.min, datetime.max, datetime(2999, 12, 31, 23, 59, 59)])
    soon = st.integers(min_value=-3 * 86400, max_value=200 * 86400).map(
        lambda s: datetime.now() + timedelta(seconds=s)
    )
    local = st.one_of(edge, soon, st.datetimes())
    return st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(), local, offsets())


def amounts() -> st.SearchStrategy[str]:
    """Decimal strings: zero, negative, huge, many places."""
    return st.one_of(
        st.sampled_from(["0", "-0", "0.0001", "999999999999999.9999", "-999999999999999.9999"]),
        st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
    )


def integers() -> st.SearchStrategy[int]:
    edges = [0, 1, -1, 3650, 3651, -3650, -3651, 2**31, 2**63, -(2**63), 10**30]
    return st.one_of(st.sampled_from(edges), st.integers())


def texts(max_size: int = 5000) -> st.SearchStrategy[str]:
    """Short and long texts, any unicode (surrogates and NUL included)."""
    return st.one_of(
        st.text(max_size=40),
        st.text(min_size=max(0, max_size - 100), max_size=max_size),
        st.sampled_from(["\x00", " ", "é" * 4000, "😀" * 4000, "x" * 4001, "\ud800"]),
    )


def some_odd(
    valid: Mapping[str, object], odd: Mapping[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """``valid`` with one or two of its fields replaced by odd values: enough of the
    examples are accepted to test the projections, and each odd value gets a turn."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        names = draw(st.lists(st.sampled_from(sorted(odd)), min_size=1, max_size=2, unique=True))
        return {**valid, **{name: draw(odd[name]) for name in names}}

    return build()


def windows() -> st.SearchStrategy[tuple[str | None, str]]:
    """(starts, ends) of a delegation: mostly up to 95 days apart (the rule allows 90),
    each with its own offset, near now or near the calendar's ends; sometimes unrelated."""
    ends = st.one_of(
        st.sampled_from([datetime.max, datetime(2999, 12, 31, 23, 59), datetime(1970, 1, 2)]),
        st.integers(min_value=-86400, max_value=200 * 86400).map(
            lambda s: datetime.now() + timedelta(seconds=s)
        ),
    )
    length = st.integers(min_value=1, max_value=95 * 86400).map(lambda s: timedelta(seconds=s))

    def window(
        end: datetime, span: timedelta, tz_start: timezone, tz_end: timezone
    ) -> tuple[str | None, str]:
        starts = (end - span).replace(tzinfo=tz_start)
        return starts.isoformat(), end.replace(tzinfo=tz_end).isoformat()

    near = st.builds(window, ends, length, offsets(), offsets())
    return st.one_of(near, st.tuples(st.none() | iso_times(), iso_times()))
