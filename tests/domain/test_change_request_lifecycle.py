"""Drafting, submitting, assessing, amending, withdrawing and implementing a CR."""

from datetime import date
from typing import Any
from uuid import uuid4

import pytest

from domain.change_request import ChangeRequest, CRDecision, CRStatus, Route
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import Vote
from domain.policy import Actor
from tests.domain.domain_given import (
    ADMIN,
    DUE,
    GATEKEEPER,
    GATEKEEPER_2,
    PM,
    SPONSOR,
    cr_decide,
    cr_vote,
    eur,
    new_cr,
    submitted_cr,
)

LATER = date(2025, 3, 28)


def amend(cr: ChangeRequest, cost: str = "9000", **kw: Any) -> None:
    cr.amend("Add SSO v2", "Now with MFA", eur(cost), 10, "SSO + MFA", "Lock-in", by=PM, **kw)


def test_the_pm_drafts_a_cr_and_becomes_its_submitter() -> None:
    pid, portfolio_id = uuid4(), uuid4()
    cr = new_cr(project_id=pid, portfolio_id=portfolio_id)
    assert (cr.status, cr.submitter, cr.project_id, cr.portfolio_id) == (
        CRStatus.DRAFT,
        "pat",
        pid,
        portfolio_id,
    )
    assert (cr.title, cr.cost_delta, cr.schedule_delta_days) == ("Add SSO", eur("5000"), 7)
    assert (cr.scope, cr.risk, cr.description) == (
        "SSO for the portal",
        "Vendor lock-in",
        "Customers asked for single sign-on",
    )
    assert (cr.route, cr.due, cr.assessment, cr.votes, cr.decision) == (None, None, None, (), None)


def test_only_the_project_s_pm_raises_a_cr() -> None:
    with pytest.raises(NotAllowed):
        new_cr(by=SPONSOR)


def test_the_pm_s_delegate_raises_a_cr_for_the_pm() -> None:
    cr = new_cr(by=Actor("dan", on_behalf_of="pat"))
    assert cr.submitter == "pat"


def test_a_cr_needs_a_title_money_and_whole_days() -> None:
    with pytest.raises(InvalidValue):
        new_cr(title=" ")
    with pytest.raises(InvalidValue):
        new_cr(cost_delta=5000)
    with pytest.raises(InvalidValue):
        new_cr(days=1.5)  # type: ignore[arg-type]  # the point: not a whole number


def test_the_submitter_submits_a_draft_with_its_route_and_due_date() -> None:
    cr = new_cr()
    cr.submit(Route.BOARD, DUE, by=PM)
    assert (cr.status, cr.route, cr.due) == (CRStatus.SUBMITTED, Route.BOARD, DUE)


def test_only_the_submitter_submits_and_only_once() -> None:
    cr = new_cr()
    with pytest.raises(NotAllowed):
        cr.submit(Route.SPONSOR, DUE, by=ADMIN)
    cr.submit(Route.SPONSOR, DUE, by=PM)
    with pytest.raises(RuleViolation):
        cr.submit(Route.SPONSOR, DUE, by=PM)


def test_submitting_needs_a_known_route_and_a_due_date() -> None:
    with pytest.raises(InvalidValue):
        new_cr().submit("nobody", DUE, by=PM)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        new_cr().submit(Route.SPONSOR, None, by=PM)  # type: ignore[arg-type]


def test_a_submitted_cr_is_assessed_with_an_assessment() -> None:
    cr = submitted_cr()
    cr.assess("Feasible, 2 sprints", by=ADMIN)
    assert (cr.status, cr.assessment) == (CRStatus.ASSESSED, "Feasible, 2 sprints")
    with pytest.raises(RuleViolation):
        cr.assess("Again", by=ADMIN)


def test_a_draft_cannot_be_assessed_and_an_assessment_needs_text() -> None:
    with pytest.raises(RuleViolation):
        new_cr().assess("Early", by=ADMIN)
    with pytest.raises(InvalidValue):
        submitted_cr().assess(" ", by=ADMIN)


def test_the_submitter_cannot_assess_their_own_cr() -> None:
    with pytest.raises(NotAllowed):
        submitted_cr().assess("Great idea", by=Actor("ada", on_behalf_of="pat"))


def test_amending_a_draft_changes_its_impact_and_takes_no_route() -> None:
    cr = new_cr()
    amend(cr)
    assert (cr.status, cr.cost_delta, cr.title) == (CRStatus.DRAFT, eur("9000"), "Add SSO v2")
    with pytest.raises(InvalidValue):
        amend(cr, route=Route.BOARD, due=DUE)


def test_amending_a_submitted_cr_resets_votes_and_assessment() -> None:
    cr = submitted_cr(Route.BOARD)
    cr.assess("Feasible", by=ADMIN)
    cr_vote(cr, Vote.APPROVE, GATEKEEPER, GATEKEEPER_2)
    amend(cr, cost="40000", route=Route.BOARD, due=LATER)
    assert (cr.status, cr.assessment, cr.votes, cr.due) == (CRStatus.SUBMITTED, None, (), LATER)
    assert cr.cost_delta == eur("40000")


def test_amending_a_submitted_cr_takes_the_recomputed_route_and_due_date() -> None:
    cr = submitted_cr(Route.BOARD)
    with pytest.raises(InvalidValue):
        amend(cr)
    amend(cr, cost="100", route=Route.SPONSOR, due=LATER)
    assert cr.route is Route.SPONSOR


def test_only_the_submitter_amends_and_never_after_a_decision() -> None:
    cr = submitted_cr()
    with pytest.raises(NotAllowed):
        cr.amend("x", "y", eur("1"), 1, "", "", by=ADMIN, route=Route.SPONSOR, due=DUE)
    cr_decide(cr, CRDecision.REJECT, SPONSOR)
    with pytest.raises(RuleViolation):
        amend(cr, route=Route.SPONSOR, due=DUE)


def test_the_submitter_withdraws_before_a_decision() -> None:
    cr = submitted_cr()
    with pytest.raises(NotAllowed):
        cr.withdraw("Not needed", by=ADMIN)
    with pytest.raises(InvalidValue):
        cr.withdraw(" ", by=PM)
    cr.withdraw("Not needed any more", by=PM)
    assert cr.status is CRStatus.WITHDRAWN


@pytest.mark.parametrize("decision", list(CRDecision))
def test_withdraw_after_decision_is_refused(decision: CRDecision) -> None:
    cr = submitted_cr()
    cr_decide(cr, decision, SPONSOR)
    with pytest.raises(RuleViolation, match="withdraw after decision refused"):
        cr.withdraw("Too late", by=PM)


def test_an_approved_cr_is_marked_implemented() -> None:
    cr = submitted_cr()
    with pytest.raises(RuleViolation):
        cr.mark_implemented(by=PM)
    cr_decide(cr, CRDecision.APPROVE, SPONSOR)
    cr.mark_implemented(by=PM)
    assert cr.status is CRStatus.IMPLEMENTED
    with pytest.raises(RuleViolation):
        cr.mark_implemented(by=PM)


def test_a_withdrawn_cr_cannot_be_decided() -> None:
    cr = submitted_cr()
    cr.withdraw("Dropped", by=PM)
    with pytest.raises(RuleViolation):
        cr_decide(cr, CRDecision.APPROVE, SPONSOR)


def test_a_draft_cannot_be_decided() -> None:
    with pytest.raises(RuleViolation):
        cr_decide(new_cr(), CRDecision.APPROVE, SPONSOR)
