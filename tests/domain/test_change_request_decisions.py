"""Routing by tolerance, board votes on escalated CRs, and who decides a CR."""

from decimal import Decimal

import pytest

from domain.change_request import CRDecision, CRStatus, Route, route_for
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import Vote
from domain.money import Money
from domain.policy import Actor, Board, DecisionPolicy, Tolerances
from tests.domain.domain_given import (
    ADMIN,
    BOARD,
    CHAIR,
    GATEKEEPER,
    GATEKEEPER_2,
    OUTSIDER,
    PM,
    SPONSOR,
    TOLERANCES,
    cr_decide,
    cr_vote,
    eur,
    submitted_cr,
)

BUDGET = eur("100000")  # 10 % cost tolerance = 10000 EUR; 14 days schedule tolerance
ZERO = eur("0")


def route(cost: str, days: int, approved: str = "0", approved_days: int = 0) -> Route:
    return route_for(BUDGET, TOLERANCES, eur(approved), approved_days, eur(cost), days)


# --- routing ---------------------------------------------------------------------------


def test_a_cr_within_cost_and_schedule_tolerance_goes_to_the_sponsor() -> None:
    assert route("10000", 14) is Route.SPONSOR


@pytest.mark.parametrize(("cost", "days"), [("10000.01", 0), ("0", 15)])
def test_a_cr_beyond_either_tolerance_is_escalated_to_the_board(cost: str, days: int) -> None:
    assert route(cost, days) is Route.BOARD


def test_tolerance_is_cumulative_over_earlier_approved_changes() -> None:
    assert route("4000", 5) is Route.SPONSOR
    assert route("4000", 5, approved="7000") is Route.BOARD
    assert route("1000", 5, approved_days=10) is Route.BOARD


def test_an_earlier_saving_offsets_an_overrun() -> None:
    assert route("12000", 0, approved="-5000") is Route.SPONSOR


def test_a_saving_beyond_tolerance_is_an_exception_too() -> None:
    assert route("-10001", 0) is Route.BOARD
    assert route("0", -15) is Route.BOARD


def test_routing_refuses_mixed_currencies() -> None:
    with pytest.raises(InvalidValue):
        route_for(BUDGET, TOLERANCES, ZERO, 0, Money(Decimal(1), "USD"), 0)


def test_zero_tolerance_sends_every_change_to_the_board() -> None:
    strict = Tolerances(Decimal("0"), 0)
    assert route_for(BUDGET, strict, ZERO, 0, ZERO, 0) is Route.SPONSOR
    assert route_for(BUDGET, strict, ZERO, 0, eur("0.01"), 0) is Route.BOARD


# --- sponsor route ---------------------------------------------------------------------


def test_a_cr_within_tolerance_is_decided_by_the_sponsor_alone() -> None:
    cr = submitted_cr(Route.SPONSOR)
    cr_decide(cr, CRDecision.APPROVE, SPONSOR)
    assert cr.status is CRStatus.APPROVED
    record = cr.decision
    assert record is not None
    assert (record.decision, record.decided_by, record.route, record.votes) == (
        CRDecision.APPROVE,
        SPONSOR,
        Route.SPONSOR,
        (),
    )


def test_within_tolerance_the_chair_cannot_decide_instead_of_the_sponsor() -> None:
    with pytest.raises(NotAllowed, match="sponsor"):
        cr_decide(submitted_cr(Route.SPONSOR), CRDecision.APPROVE, CHAIR)


def test_a_sponsor_route_cr_takes_no_board_votes() -> None:
    with pytest.raises(RuleViolation):
        cr_vote(submitted_cr(Route.SPONSOR), Vote.APPROVE, GATEKEEPER)


def test_a_decision_needs_a_rationale() -> None:
    cr = submitted_cr()
    with pytest.raises(InvalidValue, match="rationale"):
        cr.decide(CRDecision.APPROVE, " ", SPONSOR, BOARD, "sam", DecisionPolicy())


def test_an_unknown_decision_is_invalid() -> None:
    with pytest.raises(InvalidValue):
        cr_decide(submitted_cr(), "maybe", SPONSOR)  # type: ignore[arg-type]


# --- board route -----------------------------------------------------------------------


def test_an_escalated_cr_is_approved_by_the_chair_with_quorum_and_the_sponsor() -> None:
    cr = submitted_cr(Route.BOARD)
    cr.assess("Feasible", by=ADMIN)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER, SPONSOR)
    cr_decide(cr, CRDecision.APPROVE, CHAIR)
    assert cr.status is CRStatus.APPROVED
    assert cr.decision is not None
    assert {v.voter for v in cr.decision.votes} == {"gail", "sam"}


def test_an_escalated_cr_needs_the_quorum_of_approvals() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, SPONSOR)
    cr_vote(cr, Vote.REJECT, GATEKEEPER)
    with pytest.raises(RuleViolation, match="quorum"):
        cr_decide(cr, CRDecision.APPROVE, CHAIR)


def test_an_escalated_cr_needs_the_mandatory_sponsor_s_approval() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER, GATEKEEPER_2)
    with pytest.raises(RuleViolation, match="mandatory voter sam"):
        cr_decide(cr, CRDecision.APPROVE, CHAIR)


def test_the_board_may_reject_or_defer_without_a_quorum() -> None:
    rejected, deferred = submitted_cr(Route.BOARD), submitted_cr(Route.BOARD)
    cr_decide(rejected, CRDecision.REJECT, CHAIR)
    cr_decide(deferred, CRDecision.DEFER, CHAIR)
    assert (rejected.status, deferred.status) == (CRStatus.REJECTED, CRStatus.DEFERRED)


def test_beyond_tolerance_only_the_chair_decides() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER, SPONSOR)
    for actor in (SPONSOR, GATEKEEPER):
        with pytest.raises(NotAllowed, match="chair"):
            cr_decide(cr, CRDecision.APPROVE, actor)


def test_without_chair_confirmation_any_board_member_decides() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER, SPONSOR)
    policy = DecisionPolicy(quorum=2, mandatory_voters=("sponsor",), chair_must_confirm=False)
    cr.decide(CRDecision.APPROVE, "Fine", by=GATEKEEPER, board=BOARD, sponsor="sam", policy=policy)
    assert cr.status is CRStatus.APPROVED


def test_outsiders_cannot_vote_on_an_escalated_cr() -> None:
    with pytest.raises(NotAllowed):
        cr_vote(submitted_cr(Route.BOARD), Vote.APPROVE, OUTSIDER)


def test_a_cr_vote_can_be_changed_until_the_decision() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.REJECT, GATEKEEPER)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER)
    assert [(v.voter, v.vote) for v in cr.votes] == [("gail", Vote.APPROVE)]
    names = [type(e).__name__ for e in cr.collect_events()]
    assert names[-2:] == ["VoteCast", "VoteChanged"]


def test_a_delegate_votes_on_a_cr_for_the_delegator() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, Actor("dora", on_behalf_of="gail"))
    vote = cr.vote_of("gail")
    assert vote is not None
    assert (vote.voter, vote.cast_by) == ("gail", "dora")


def test_a_cr_vote_needs_a_rationale_and_a_known_vote() -> None:
    cr = submitted_cr(Route.BOARD)
    with pytest.raises(InvalidValue):
        cr.cast_vote(Vote.APPROVE, " ", by=GATEKEEPER, board=BOARD, sponsor="sam")
    with pytest.raises(InvalidValue):
        cr.cast_vote("meh", "x", by=GATEKEEPER, board=BOARD, sponsor="sam")  # type: ignore[arg-type]


def test_no_votes_after_the_decision() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_decide(cr, CRDecision.REJECT, CHAIR)
    with pytest.raises(RuleViolation):
        cr_vote(cr, Vote.APPROVE, GATEKEEPER)


# --- deferral ----------------------------------------------------------------------------


def test_a_deferred_cr_is_decided_later_and_keeps_every_decision() -> None:
    cr = submitted_cr(Route.SPONSOR)
    cr_decide(cr, CRDecision.DEFER, SPONSOR)
    cr_decide(cr, CRDecision.APPROVE, SPONSOR)
    assert cr.status is CRStatus.APPROVED
    assert [d.decision for d in cr.decisions] == [CRDecision.DEFER, CRDecision.APPROVE]


def test_a_deferred_board_cr_collects_the_missing_votes_then_is_approved() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER)
    cr_decide(cr, CRDecision.DEFER, CHAIR)
    cr_vote(cr, Vote.APPROVE, SPONSOR)
    cr_decide(cr, CRDecision.APPROVE, CHAIR)
    assert cr.status is CRStatus.APPROVED


def test_a_deferred_cr_cannot_be_deferred_again() -> None:
    cr = submitted_cr()
    cr_decide(cr, CRDecision.DEFER, SPONSOR)
    with pytest.raises(RuleViolation, match="already deferred"):
        cr_decide(cr, CRDecision.DEFER, SPONSOR)


# --- separation of duties ----------------------------------------------------------------


def test_the_submitter_cannot_vote_on_their_own_cr() -> None:
    cr = submitted_cr(Route.BOARD)
    board_with_pm = Board(members=(*BOARD.members, "pat"), chair="cora")
    with pytest.raises(NotAllowed, match="submitter"):
        cr.cast_vote(Vote.APPROVE, "mine", by=PM, board=board_with_pm, sponsor="sam")


@pytest.mark.parametrize(
    "actor",
    [Actor("pat", on_behalf_of="gail"), Actor("gail", on_behalf_of="pat")],
    ids=["submitter-as-delegate", "delegate-of-submitter"],
)
def test_the_submitter_cannot_vote_through_a_delegation(actor: Actor) -> None:
    with pytest.raises(NotAllowed):
        cr_vote(submitted_cr(Route.BOARD), Vote.APPROVE, actor)


@pytest.mark.parametrize(
    ("route", "actor"),
    [
        (Route.SPONSOR, Actor("pat", on_behalf_of="sam")),
        (Route.BOARD, Actor("pat", on_behalf_of="cora")),
    ],
)
def test_the_submitter_cannot_decide_even_as_a_delegate(route: Route, actor: Actor) -> None:
    cr = submitted_cr(route)
    if route is Route.BOARD:
        cr_vote(cr, Vote.APPROVE, GATEKEEPER, SPONSOR)
    with pytest.raises(NotAllowed, match="submitter"):
        cr_decide(cr, CRDecision.APPROVE, actor)


def test_repeating_an_identical_cr_vote_records_nothing() -> None:
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER)
    version = cr.version
    cr_vote(cr, Vote.APPROVE, GATEKEEPER)
    assert cr.version == version
    names = [type(e).__name__ for e in cr.collect_events()]
    assert names.count("VoteCast") == 1 and "VoteChanged" not in names
