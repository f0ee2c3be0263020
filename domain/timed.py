"""Base of the aggregates whose @event bodies need their event's timestamp.

No ``from __future__ import annotations`` here: eventsourcing inspects annotations.
"""

from typing import Any

from eventsourcing.domain import Aggregate


class TimedAggregate(Aggregate):
    """Inside @event bodies ``self.modified_on`` is the timestamp of the event applied."""

    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            # Expose this event's timestamp to the @event body (replay safe).
            if aggregate is not None:
                aggregate.modified_on = self.timestamp
            return super().mutate(aggregate)
