"""Events recorded before the separation-of-duties rules of issue 10 (a quorum counts
people, who configures governance does not decide under it) replay as they were: the
rules are checked by command methods, never by the @event bodies replay runs."""

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest

from domain.change_request import CRDecision, CRStatus, Route
from domain.errors import InvalidValue, RuleViolation
from domain.gate_review import Decision, Vote
from domain.policy import Actor, Board, default_template
from domain.portfolio import Portfolio
from domain.project import Project, ProjectStatus
from tests.domain.domain_given import (
    ADMIN,
    BASELINE,
    BOARD,
    CHAIR,
    GATEKEEPER,
    TOLERANCES,
    approve,
    eur,
    new_project,
    submitted_cr,
)

GAIL_FOR_GUS = Actor("gail", on_behalf_of="gus")
GAIL_FOR_CORA = Actor("gail", on_behalf_of="cora")


def replay(events: Sequence[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def test_a_go_recorded_on_one_person_s_three_approvals_replays(under_review: Project) -> None:
    # Given gail approved in person, for gus and for the chair, which no longer passes
    approve(under_review, "G0", GATEKEEPER, GAIL_FOR_GUS, GAIL_FOR_CORA)
    review = under_review.review
    assert review is not None
    with pytest.raises(RuleViolation, match="has 1"):
        under_review.decide("G0", Decision.GO, "alone", by=GAIL_FOR_CORA, board=BOARD)
    # and an earlier version recorded the GO all the same
    under_review._gate_decided(
        gate="G0",
        decision=Decision.GO,
        rationale="alone",
        votes=review.votes,
        seen_position=None,
        conditions=(),
        by=GAIL_FOR_CORA,
        closes=False,
    )
    # When the events are replayed, then the project is where that decision put it
    rebuilt = replay(under_review.collect_events())
    assert vars(rebuilt) == vars(under_review)
    assert (rebuilt.status, rebuilt.stage) == (ProjectStatus.ACTIVE, "Initiation")


def test_a_cr_approved_on_one_person_s_approvals_replays() -> None:
    cr = submitted_cr(Route.BOARD)
    for voter in (GATEKEEPER, GAIL_FOR_GUS, Actor("gail", on_behalf_of="sam")):
        cr.cast_vote(Vote.APPROVE, "fine", by=voter, board=BOARD, sponsor="sam")
    cr._decided(decision=CRDecision.APPROVE, rationale="alone", votes=cr.votes, by=CHAIR)
    rebuilt = replay(cr.collect_events())
    assert vars(rebuilt) == vars(cr)
    assert rebuilt.status is CRStatus.APPROVED


def test_a_portfolio_whose_creator_sits_on_its_board_replays() -> None:
    seated = Board(members=("ada", "gail"), chair="ada")
    args: dict[str, Any] = dict(
        name="Legacy", objectives=(), envelope=eur("1"), template=default_template()
    )
    with pytest.raises(InvalidValue, match="board: ada"):
        Portfolio.create(uuid4(), board=seated, by=ADMIN, **args)
    legacy = Portfolio(id=uuid4(), board=seated, by=ADMIN, **args)  # as recorded back then
    legacy._board_changed(previous=seated, board=Board(("ada", "gus"), "gus"), by=ADMIN)
    rebuilt = replay(legacy.collect_events())
    assert vars(rebuilt) == vars(legacy)
    assert rebuilt.board == Board(("ada", "gus"), "gus")


def test_a_project_sponsored_by_its_creator_replays() -> None:
    with pytest.raises(InvalidValue, match="sponsor"):
        new_project(sponsor="ada", by=ADMIN)
    legacy = Project(
        id=uuid4(),
        portfolio_id=uuid4(),
        name="Legacy",
        pm="pat",
        sponsor="ada",
        baseline=BASELINE,
        tolerances=TOLERANCES,
        template=default_template(),
        by=ADMIN,
    )
    rebuilt = replay(legacy.collect_events())
    assert vars(rebuilt) == vars(legacy) and rebuilt.sponsor == "ada"
