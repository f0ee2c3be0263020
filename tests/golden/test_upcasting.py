"""An event stored in an older shape is upcast on read (``class_version`` and
``upcast_vX_vY``, docs/stored-names.md), under the same stored name."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from uuid import uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from eventstore.mapper import new_mapper
from eventstore.names import TypeNames


class Parcel(Aggregate):
    """A test-only aggregate whose ``Weighed`` event once stored kilograms as ``kg``."""

    class Weighed(Aggregate.Event):
        class_version = 2
        grams: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            kg = state.pop("kg")
            assert isinstance(kg, Decimal)
            state["grams"] = int(kg * 1000)

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.grams = self.grams  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Registry:
    types: dict[str, type] = field(
        default_factory=lambda: {
            "Parcel": Parcel,
            "Parcel.Created": Parcel.Created,
            "Parcel.Weighed": Parcel.Weighed,
        }
    )
    old_topics: dict[str, str] = field(default_factory=dict)


MAPPER = new_mapper(TypeNames(_Registry()))
# What version 1 of Parcel.Weighed wrote: no class_version, the weight in kilograms.
V1_STATE = (
    b'{"timestamp":{"__t":"dt","v":"2027-01-05T10:00:00+00:00"},"kg":{"__t":"dec","v":"1.25"}}'
)


def test_an_event_stored_in_an_older_shape_is_upcast_on_read() -> None:
    parcel = Parcel()
    created = MAPPER.to_stored_event(parcel.collect_events()[0])
    old = StoredEvent(parcel.id, 2, "Parcel.Weighed", V1_STATE)
    events = [MAPPER.to_domain_event(e) for e in (created, old)]
    assert isinstance(events[1], Parcel.Weighed)
    assert events[1].grams == 1250
    assert not hasattr(events[1], "kg")
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.grams == 1250


def test_the_upcast_event_is_written_in_the_current_shape_under_the_same_name() -> None:
    old = StoredEvent(uuid4(), 2, "Parcel.Weighed", V1_STATE)
    again = MAPPER.to_stored_event(MAPPER.to_domain_event(old))
    assert again.topic == "Parcel.Weighed"
    assert again.state == (
        b'{"timestamp":{"__t":"dt","v":"2027-01-05T10:00:00+00:00"},"grams":1250,"class_version":2}'
    )
    assert MAPPER.to_domain_event(again).grams == 1250  # the current shape is not upcast


def test_a_portfolio_snapshot_from_before_board_changers_restores() -> None:
    """Version 1 snapshots of a Portfolio (kept before the board's changers were) read as
    having no board changers; the creator stays its configurer."""
    from pathlib import Path

    from domain.portfolio import Portfolio
    from domain.stored_names import STORED_NAMES

    state = Path(__file__).with_name("old").joinpath("snapshot-portfolio-v1.json").read_bytes()
    assert b"board_changers" not in state and b"class_version" not in state
    mapper = new_mapper(TypeNames(STORED_NAMES))
    snapshot = mapper.to_domain_event(StoredEvent(uuid4(), 3, "Snapshot", state))
    portfolio = snapshot.mutate(None)
    assert isinstance(portfolio, Portfolio)
    assert portfolio.board_changers == () and portfolio.configured_by == ("ada",)
