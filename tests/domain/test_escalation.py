"""Overdue items are escalated once per item and deadline (the scheduled job is idempotent)."""

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from domain.change_request import CRDecision
from domain.errors import InvalidValue, RuleViolation
from domain.policy import Actor
from domain.seats import escalation_recipient
from tests.domain.domain_given import (
    ADMIN,
    DUE,
    PM,
    SPONSOR,
    cr_decide,
    new_cr,
    new_project,
    new_signoff,
    submitted_cr,
)

JOB = Actor("scheduler")
NEXT_DUE = date(2025, 3, 28)

FACTORIES: dict[str, Callable[[], Any]] = {
    "project": new_project,
    "change_request": submitted_cr,
    "signoff": new_signoff,
}


@pytest.fixture(params=sorted(FACTORIES))
def pending(request: pytest.FixtureRequest) -> Any:
    """Given a project, a submitted CR or an open sign-off with something pending."""
    return FACTORIES[request.param]()


def test_an_overdue_item_is_escalated_once_per_deadline(pending: Any) -> None:
    pending.escalate("decision", DUE, by=JOB)
    assert pending.escalations == (("decision", DUE),)
    assert type(pending.collect_events()[-1]).__name__ == "Escalated"
    with pytest.raises(RuleViolation, match="already escalated"):
        pending.escalate("decision", DUE, by=JOB)


def test_a_new_deadline_or_another_item_is_escalated_again(pending: Any) -> None:
    pending.escalate("vote:G1:dave", DUE, by=JOB)
    pending.escalate("vote:G1:dave", NEXT_DUE, by=JOB)
    pending.escalate("vote:G1:gus", DUE, by=JOB)
    assert len(pending.escalations) == 3


def test_an_escalation_names_the_item_and_its_deadline(pending: Any) -> None:
    with pytest.raises(InvalidValue):
        pending.escalate(" ", DUE, by=JOB)
    with pytest.raises(InvalidValue):
        pending.escalate("decision", "2025-03-14", by=JOB)


def test_a_decided_cr_or_a_draft_is_not_escalated() -> None:
    decided = submitted_cr()
    cr_decide(decided, CRDecision.REJECT, SPONSOR)
    for cr in (decided, new_cr()):
        with pytest.raises(RuleViolation, match="awaits no decision"):
            cr.escalate("decision", DUE, by=JOB)


def test_a_deferred_cr_awaits_a_decision_and_is_escalated() -> None:
    cr = submitted_cr()
    cr_decide(cr, CRDecision.DEFER, SPONSOR)
    cr.escalate("decision", DUE, by=JOB)
    assert cr.escalations == (("decision", DUE),)


def test_an_answered_sign_off_is_not_escalated() -> None:
    signoff = new_signoff(signatories=("sam",))
    signoff.sign("ok", by=SPONSOR)
    with pytest.raises(RuleViolation):
        signoff.escalate("signoff:sam", DUE, by=JOB)


def test_a_cancelled_project_is_not_escalated() -> None:
    project = new_project()
    project.cancel("Stopped", by=ADMIN)
    with pytest.raises(RuleViolation):
        project.escalate("decision:G0", DUE, by=PM)


def test_an_escalation_goes_to_the_chair_or_for_the_chairs_own_item_to_the_pmo() -> None:
    assert escalation_recipient("vote:dave", "carol", "ada") == "carol"
    assert escalation_recipient("decision:carol", "carol", "ada") == "ada"
    assert escalation_recipient("condition:carol:1234", "carol", "ada") == "ada"
    assert escalation_recipient("vote:dave", None, "ada") == "ada"
