"""The msgspec transcoder keeps every stored value's exact type."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from eventstore.mapper import new_mapper
from eventstore.transcoder import MsgspecTranscoder


class Colour(enum.StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str


@dataclass(frozen=True)
class Line:
    id: UUID
    amount: Amount
    due: date
    tags: tuple[str, ...]
    colour: Colour


def roundtrip(obj: object) -> object:
    t = MsgspecTranscoder()
    return t.decode(t.encode(obj))


@pytest.mark.parametrize(
    "value",
    [
        uuid4(),
        Decimal("1250000.00"),
        Decimal("-0.000001"),
        Decimal("1E+3"),
        datetime(2026, 11, 26, 4, 53, 2, 123456, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        date(2026, 2, 28),
        (1, "a", (2, 3)),
        (),
        frozenset({"a", "b"}),
        [1, [2, {"k": Decimal("1.10")}]],
        {"__t": "not a tag", "x": 1},
        {uuid4(): "value under a UUID key"},
        Colour.RED,
        None,
        True,
        "text with \u00e9 and \n",
        3.5,
    ],
)
def test_value_round_trips_with_its_exact_type(value: object) -> None:
    back = roundtrip(value)
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, Decimal):
        assert str(back) == str(value)


def test_nested_value_objects_round_trip() -> None:
    line = Line(uuid4(), Amount(Decimal("10.50"), "EUR"), date(2027, 1, 31), ("a", "b"), Colour.RED)
    back = roundtrip({"lines": (line, line), "total": Amount(Decimal("21.00"), "EUR")})
    assert back == {"lines": (line, line), "total": Amount(Decimal("21.00"), "EUR")}
    assert type(back["lines"][0].amount.value) is Decimal


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        MsgspecTranscoder().encode({"x": object()})


class Thing(Aggregate):
    @event("Created")
    def __init__(self, name: str, price: Amount) -> None:
        self.name = name
        self.price = price

    @event("Priced")
    def reprice(self, price: Amount, when: date) -> None:
        self.price = price
        self.when = when


def test_domain_events_round_trip_through_the_mapper() -> None:
    mapper = new_mapper()
    thing = Thing(name="x", price=Amount(Decimal("1.00"), "EUR"))
    thing.reprice(Amount(Decimal("2.00"), "EUR"), date(2026, 12, 1))
    events = thing.collect_events()
    restored = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]
    assert [vars(e) for e in restored] == [vars(e) for e in events]
    copy = None
    for e in restored:
        copy = e.mutate(copy)
    assert copy is not None and copy.price == thing.price and copy.when == thing.when


@dataclass(frozen=True)
class Grown:
    name: str
    added_later: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name required")


def test_a_field_added_later_takes_its_default_when_old_data_is_read() -> None:
    t = MsgspecTranscoder()
    old = t.encode(Grown("x")).replace(b',"added_later":{"__t":"tup","v":[]}', b"")
    assert b"added_later" not in old
    assert t.decode(old) == Grown("x")
    unknown = t.encode(Grown("y")).replace(b'"name":"y"', b'"name":"y","dropped":1')
    assert t.decode(unknown) == Grown("y")
