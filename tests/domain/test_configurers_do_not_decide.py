"""Who configures governance does not decide under it: the portfolio's creator (who set
up its board and template), whoever changes its board and the project's creator never sit
on the board, never make themselves sponsor, and never vote or decide, not even for
someone who delegated to them."""

from uuid import uuid4

import pytest

from domain.change_request import CRDecision, CRStatus, Route
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import Decision, Vote
from domain.policy import DEFAULT_CHANGE_POLICY, Actor, Board, Role, default_template
from domain.portfolio import Portfolio
from domain.project import Project
from tests.domain.domain_given import (
    ADMIN,
    BOARD,
    GATEKEEPER,
    GATEKEEPER_2,
    SPONSOR,
    approve,
    eur,
    new_project,
    request,
    submitted_cr,
)

ADA_ON_BOARD = Board(members=("ada", "gail", "gus"), chair="ada")  # ada is the PMO admin
ADA_FOR_GAIL = Actor("ada", on_behalf_of="gail")  # gail delegated to the admin
ADA_FOR_CORA = Actor("ada", on_behalf_of="cora")  # so did the chair


ENVELOPE = eur("1000000")


def create_portfolio(board: Board, by: Actor = ADMIN) -> Portfolio:
    return Portfolio.create(uuid4(), "Digital", ("Grow",), ENVELOPE, board, default_template(), by)


def test_the_admin_cannot_put_themselves_on_the_board_they_create() -> None:
    with pytest.raises(InvalidValue, match="board: ada configure"):
        create_portfolio(ADA_ON_BOARD)


def test_nor_the_person_they_create_it_for_sits_on_it() -> None:
    with pytest.raises(InvalidValue, match="board: gail"):
        create_portfolio(BOARD, by=Actor("ada", on_behalf_of="gail"))


def test_a_board_change_cannot_seat_the_creator_or_the_changer() -> None:
    portfolio = create_portfolio(BOARD)
    with pytest.raises(InvalidValue, match="board: ada"):
        portfolio.change_board(ADA_ON_BOARD, by=Actor("otto"))
    with pytest.raises(InvalidValue, match="board: otto"):
        portfolio.change_board(Board(("otto", "gail"), "otto"), by=Actor("otto"))
    assert portfolio.board == BOARD
    assert portfolio.configured_by == ("ada",)


def test_whoever_changed_the_board_is_remembered_and_never_seated_later() -> None:
    portfolio = create_portfolio(BOARD)
    portfolio.change_board(Board(("gail", "gus", "cora"), "cora"), by=Actor("otto"))
    assert portfolio.configured_by == ("ada", "otto")
    with pytest.raises(InvalidValue, match="board: otto"):
        portfolio.change_board(Board(("otto", "gail"), "gail"), by=Actor("ida"))
    replayed = None
    for event in portfolio.collect_events():
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Portfolio) and replayed.configured_by == ("ada", "otto")


def test_the_admin_cannot_vote_for_a_member_who_delegated_to_them(
    under_review: Project,
) -> None:
    with pytest.raises(NotAllowed, match="ada configured this governance"):
        under_review.cast_vote(
            "G0", Vote.APPROVE, "ok", by=ADA_FOR_GAIL, board=BOARD, configured_by=("ada",)
        )
    assert under_review.review is not None and under_review.review.votes == ()


def test_the_project_s_creator_cannot_vote_even_if_the_portfolio_is_not_theirs(
    under_review: Project,
) -> None:
    # ada created the project (domain_given.new_project); the portfolio names nobody
    with pytest.raises(NotAllowed, match="cannot vote"):
        under_review.cast_vote("G0", Vote.APPROVE, "ok", by=ADA_FOR_GAIL, board=BOARD)


def test_the_admin_cannot_decide_for_the_chair(under_review: Project) -> None:
    approve(under_review, "G0", GATEKEEPER, GATEKEEPER_2)
    with pytest.raises(NotAllowed, match="cannot decide"):
        under_review.decide("G0", Decision.GO, "ok", by=ADA_FOR_CORA, board=BOARD)


def test_a_project_s_creator_cannot_make_themselves_sponsor() -> None:
    with pytest.raises(InvalidValue, match="sponsor"):
        new_project(sponsor="ada")
    project = new_project()
    with pytest.raises(InvalidValue, match="sponsor"):
        project.assign_role("otto", Role.SPONSOR, by=Actor("otto"))
    assert project.sponsor == "sam"


def test_the_admin_on_a_board_stored_before_the_rule_still_cannot_vote_or_decide() -> None:
    # Given a portfolio recorded before the rule, with its creator ada chairing the board
    legacy = Portfolio(
        id=uuid4(),
        name="Legacy",
        objectives=(),
        envelope=ENVELOPE,
        board=ADA_ON_BOARD,
        template=default_template(),
        by=ADMIN,
    )
    replayed = legacy.collect_events()[0].mutate(None)
    assert isinstance(replayed, Portfolio)
    assert replayed.board == ADA_ON_BOARD and replayed.configured_by == ("ada",)
    project = new_project(by=Actor("otto"))
    request(project, "G0")
    board, barred = replayed.board, replayed.configured_by
    with pytest.raises(NotAllowed):
        project.cast_vote("G0", Vote.APPROVE, "ok", by=ADMIN, board=board, configured_by=barred)
    # and a vote ada recorded back then does not count toward the quorum
    project._vote_cast(gate="G0", vote=Vote.APPROVE, rationale="old", evidence=(), by=ADMIN)
    approve(project, "G0", Actor("gail"))
    with pytest.raises(NotAllowed, match="ada configured"):
        project.decide("G0", Decision.GO, "ok", by=ADMIN, board=board, configured_by=barred)
    chaired_by_gus = Board(board.members, "gus")
    with pytest.raises(RuleViolation, match="has 1"):
        project.decide("G0", Decision.GO, "ok", GATEKEEPER_2, chaired_by_gus, (), None, barred)


def test_a_configurer_cannot_vote_on_or_decide_a_change_request() -> None:
    cr = submitted_cr(Route.BOARD)
    policy, ada = DEFAULT_CHANGE_POLICY, ("ada",)
    with pytest.raises(NotAllowed, match="cannot vote"):
        cr.cast_vote(Vote.APPROVE, "ok", ADA_FOR_GAIL, BOARD, "sam", policy, ada)
    with pytest.raises(NotAllowed, match="cannot decide"):
        cr.decide(CRDecision.REJECT, "no", ADA_FOR_CORA, BOARD, "sam", policy, ada)
    # a sponsor recorded as the project's creator before the rule cannot decide either
    within = submitted_cr(Route.SPONSOR)
    with pytest.raises(NotAllowed, match="sam configured"):
        within.decide(CRDecision.APPROVE, "ok", SPONSOR, BOARD, "sam", policy, ("sam",))
    assert (cr.status, within.status, cr.votes) == (CRStatus.SUBMITTED, CRStatus.SUBMITTED, ())
