"""How projections read a stored event (projections.engine.events.change_of)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from projections.engine.events import change_of

STAMP = '{"__t": "dt", "v": "2027-01-01T00:00:00+00:00"}'


def test_an_event_whose_by_is_no_person_is_read_with_its_time_and_no_actor() -> None:
    # The fallback built its envelope with a positional argument its keyword-only
    # struct refused: a TypeError instead of the event (found by mypy).
    state = f'{{"timestamp": {STAMP}, "reason": "x", "by": "someone"}}'.encode()
    change = change_of(7, uuid4(), 3, "Project.Cancelled", state)
    assert (change.position, change.version, change.type) == (7, 3, "Project.Cancelled")
    assert change.at == datetime(2027, 1, 1, tzinfo=UTC)
    assert change.actor is None and change.on_behalf_of is None
    assert change.data["reason"] == "x"
