"""A decision's seen_position: the head when none is given, never before the review's
request nor past the head; checked when deciding only, so events replay as recorded."""

import pytest

from domain.errors import InvalidValue
from domain.gate_review import Decision
from domain.project import Project
from tests.domain.domain_given import BOARD, CHAIR, GATEKEEPER, GATEKEEPER_2, approve


def test_a_decision_without_seen_position_records_the_log_head(under_review: Project) -> None:
    under_review.decide("G0", Decision.HOLD, "wait", by=CHAIR, board=BOARD, log_head=42)
    assert under_review.decisions[-1].seen_position == 42


@pytest.mark.parametrize(("seen", "named"), [(9, "before the review's request"), (43, "past")])
def test_a_seen_position_outside_request_and_head_is_refused(
    under_review: Project, seen: int, named: str
) -> None:
    approve(under_review, "G0", GATEKEEPER, GATEKEEPER_2)
    with pytest.raises(InvalidValue, match=named):
        under_review.decide(
            "G0", Decision.GO, "ok", CHAIR, BOARD, seen_position=seen, log_head=42, requested_at=10
        )
    assert under_review.decisions == ()


def test_a_recorded_seen_position_replays_as_recorded(under_review: Project) -> None:
    under_review.decide(
        "G0", Decision.HOLD, "wait", CHAIR, BOARD, seen_position=10, log_head=42, requested_at=10
    )
    replayed = None
    for e in under_review.collect_events():
        replayed = e.mutate(replayed)
    assert isinstance(replayed, Project) and replayed.decisions[-1].seen_position == 10
