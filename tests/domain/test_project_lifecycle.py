"""Project creation, project roles and the administrative lifecycle."""

from datetime import date
from uuid import uuid4

import pytest

from domain.errors import InvalidValue, RuleViolation
from domain.money import Money
from domain.policy import Baseline, Role, default_template
from domain.project import Project, ProjectStatus
from tests.domain.domain_given import ADMIN, BASELINE, PM, new_project, pass_gate, request


def test_project_starts_proposed_in_the_proposal_stage_facing_g0() -> None:
    pid, portfolio_id = uuid4(), uuid4()
    project = new_project(id=pid, portfolio_id=portfolio_id)
    assert project.id == pid
    assert project.portfolio_id == portfolio_id
    assert project.status is ProjectStatus.PROPOSED
    assert project.stage == "Proposal"
    assert project.next_gate == "G0"
    assert project.template == default_template()
    assert (project.pm, project.sponsor) == ("pat", "sam")
    assert project.review is None
    assert project.decisions == ()
    assert project.conditions == ()


def test_pm_and_sponsor_must_be_different_people() -> None:
    with pytest.raises(InvalidValue, match="different"):
        new_project(pm="pat", sponsor="pat")


def test_project_roles_are_answered_per_person(project: Project) -> None:
    project.assign_role("stan", Role.STAKEHOLDER, by=ADMIN)
    assert project.roles_of("pat") == {Role.PM}
    assert project.roles_of("sam") == {Role.SPONSOR}
    assert project.roles_of("stan") == {Role.STAKEHOLDER}


def test_assigning_a_new_pm_replaces_the_previous_one(project: Project) -> None:
    project.assign_role("paula", Role.PM, by=ADMIN)
    assert project.pm == "paula"
    assert project.roles_of("pat") == frozenset()


def test_assigning_a_new_sponsor_replaces_the_previous_one(project: Project) -> None:
    project.assign_role("sue", Role.SPONSOR, by=ADMIN)
    assert project.sponsor == "sue"


def test_the_sponsor_cannot_become_the_pm(project: Project) -> None:
    with pytest.raises(RuleViolation, match="different"):
        project.assign_role("sam", Role.PM, by=ADMIN)


def test_stakeholders_are_many_and_revocable(project: Project) -> None:
    project.assign_role("stan", Role.STAKEHOLDER, by=ADMIN)
    project.assign_role("stella", Role.STAKEHOLDER, by=ADMIN)
    project.revoke_role("stan", Role.STAKEHOLDER, by=ADMIN)
    assert project.stakeholders == ("stella",)


def test_revoking_a_project_role_not_held_is_refused(project: Project) -> None:
    with pytest.raises(RuleViolation, match="does not hold"):
        project.revoke_role("stan", Role.STAKEHOLDER, by=ADMIN)


def test_pm_and_sponsor_are_replaced_not_revoked(project: Project) -> None:
    with pytest.raises(RuleViolation, match="successor"):
        project.revoke_role("pat", Role.PM, by=ADMIN)


def test_only_project_roles_are_assignable_on_a_project(project: Project) -> None:
    with pytest.raises(InvalidValue):
        project.assign_role("gail", Role.GATEKEEPER, by=ADMIN)


def test_admin_cancellation_needs_a_reason(project: Project) -> None:
    with pytest.raises(InvalidValue, match="reason"):
        project.cancel("  ", by=ADMIN)


def test_admin_cancellation_ends_the_project_and_its_open_review(project: Project) -> None:
    request(project, "G0")
    project.cancel("Strategy changed", by=ADMIN)
    assert project.status is ProjectStatus.CANCELLED
    assert project.review is None


def test_a_cancelled_project_cannot_be_cancelled_again(project: Project) -> None:
    project.cancel("Strategy changed", by=ADMIN)
    with pytest.raises(RuleViolation):
        project.cancel("again", by=ADMIN)


def test_a_cancelled_project_cannot_request_a_review(project: Project) -> None:
    project.cancel("Strategy changed", by=ADMIN)
    with pytest.raises(RuleViolation, match="cancelled"):
        request(project, "G0")


def test_hold_and_resume_return_to_the_previous_status(project: Project) -> None:
    project.put_on_hold("Budget freeze", by=ADMIN)
    assert project.status is ProjectStatus.ON_HOLD
    project.resume("Budget released", by=ADMIN)
    assert project.status is ProjectStatus.PROPOSED
    pass_gate(project, "G0")
    project.put_on_hold("Budget freeze", by=ADMIN)
    project.resume("Budget released", by=ADMIN)
    assert project.status is ProjectStatus.ACTIVE


def test_only_a_project_on_hold_can_resume(project: Project) -> None:
    with pytest.raises(RuleViolation):
        project.resume("why", by=ADMIN)


def test_a_project_on_hold_cannot_be_put_on_hold_again(project: Project) -> None:
    project.put_on_hold("freeze", by=ADMIN)
    with pytest.raises(RuleViolation):
        project.put_on_hold("freeze", by=ADMIN)


def test_rebaseline_records_the_previous_and_the_new_baseline(project: Project) -> None:
    new = Baseline(
        Money(BASELINE.budget.amount * 2, "EUR"), BASELINE.start, date(2026, 6, 30), "More"
    )
    project.rebaseline(new, "CR-7 approved", by=PM)
    assert project.baseline == new
    event = project.collect_events()[-1]
    assert isinstance(event, Project.Rebaselined)
    assert (event.previous, event.baseline, event.reason) == (BASELINE, new, "CR-7 approved")


def test_rebaseline_needs_a_reason_and_keeps_the_currency(project: Project) -> None:
    with pytest.raises(InvalidValue, match="reason"):
        project.rebaseline(BASELINE, "", by=PM)
    usd = Baseline(Money(BASELINE.budget.amount, "USD"), BASELINE.start, BASELINE.end, "x")
    with pytest.raises(InvalidValue, match="currency"):
        project.rebaseline(usd, "switch", by=PM)
