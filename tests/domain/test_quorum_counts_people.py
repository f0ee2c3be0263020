"""A quorum counts distinct people, however many delegations one of them holds: a vote
cast for someone is that person's vote for the record, but the quorum needs approvals
typed by as many different people (gates and change requests escalated to the board)."""

import pytest

from domain.change_request import ChangeRequest, CRDecision, CRStatus, Route
from domain.errors import RuleViolation
from domain.gate_review import Decision, Vote
from domain.policy import Actor
from domain.project import Project, ProjectStatus
from tests.domain.domain_given import (
    BOARD,
    CHAIR,
    GATEKEEPER,
    GATEKEEPER_2,
    approve,
    cr_decide,
    cr_vote,
    submitted_cr,
)

GAIL_FOR_CORA = Actor("gail", on_behalf_of="cora")  # gail holds the chair's delegation
GAIL_FOR_GUS = Actor("gail", on_behalf_of="gus")
GAIL_FOR_SAM = Actor("gail", on_behalf_of="sam")


def go(project: Project, gate: str, by: Actor = CHAIR) -> None:
    project.decide(gate, Decision.GO, "Agreed", by=by, board=BOARD)


def test_one_member_with_two_delegations_cannot_pass_a_gate_alone(
    under_review: Project,
) -> None:
    # Given gail approves in person, for gus and for the chair (three votes, one person)
    approve(under_review, "G0", GATEKEEPER, GAIL_FOR_GUS, GAIL_FOR_CORA)
    # When gail decides GO as the chair's delegate, then the quorum of 2 people is missing
    with pytest.raises(RuleViolation, match="quorum needs 2 approvals, has 1"):
        go(under_review, "G0", by=GAIL_FOR_CORA)
    with pytest.raises(RuleViolation, match="counts people"):
        go(under_review, "G0", by=CHAIR)
    assert under_review.status is ProjectStatus.PROPOSED
    # and each vote stays its voter's for the record, typed by gail
    review = under_review.review
    assert review is not None
    assert {(v.voter, v.cast_by) for v in review.votes} == {
        ("gail", "gail"),
        ("gus", "gail"),
        ("cora", "gail"),
    }


def test_a_delegate_and_another_member_are_two_people(under_review: Project) -> None:
    # Given gail approves in person and for gus: one person so far
    approve(under_review, "G0", GATEKEEPER, GAIL_FOR_GUS)
    with pytest.raises(RuleViolation, match="has 1"):
        go(under_review, "G0")
    # When the chair approves too, then two people approved and GO passes
    approve(under_review, "G0", CHAIR)
    go(under_review, "G0")
    assert under_review.status is ProjectStatus.ACTIVE
    assert {v.voter for v in under_review.decisions[-1].votes} == {"gail", "gus", "cora"}


def test_a_mandatory_sponsor_s_delegate_satisfies_the_mandate_but_not_the_quorum(
    at_g1_review: Project,
) -> None:
    # Given gail approves in person and for the mandatory sponsor
    approve(at_g1_review, "G1", GATEKEEPER, GAIL_FOR_SAM)
    # Then the sponsor's approval is there but only one person agreed
    with pytest.raises(RuleViolation) as refused:
        go(at_g1_review, "G1")
    assert "has 1" in str(refused.value) and "mandatory" not in str(refused.value)
    # When gus approves, two people did
    approve(at_g1_review, "G1", GATEKEEPER_2)
    go(at_g1_review, "G1")
    assert at_g1_review.stage == "Planning"


def escalated_cr_with_gail_voting_three_times() -> ChangeRequest:
    """Given an escalated CR that gail approved in person, for gus and for the sponsor."""
    cr = submitted_cr(Route.BOARD)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER, GAIL_FOR_GUS, GAIL_FOR_SAM)
    return cr


def test_one_member_with_delegations_cannot_approve_an_escalated_cr_alone() -> None:
    cr = escalated_cr_with_gail_voting_three_times()
    assert {(v.voter, v.cast_by) for v in cr.votes} == {
        ("gail", "gail"),
        ("gus", "gail"),
        ("sam", "gail"),
    }
    with pytest.raises(RuleViolation, match="quorum needs 2 approvals, has 1"):
        cr_decide(cr, CRDecision.APPROVE, CHAIR)
    assert cr.status is CRStatus.SUBMITTED
    # When the chair approves too, two people did and the CR is approved
    cr_vote(cr, Vote.APPROVE, CHAIR)
    cr_decide(cr, CRDecision.APPROVE, CHAIR)
    assert cr.status is CRStatus.APPROVED
