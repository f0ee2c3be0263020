"""Approved change requests re-baseline the project and accumulate against tolerance."""

from datetime import date
from uuid import uuid4

import pytest

from domain.change_request import Route, route_for
from domain.errors import InvalidValue, RuleViolation
from domain.money import Money
from domain.project import Project
from tests.domain.domain_given import ADMIN, BASELINE, SPONSOR, TOLERANCES, eur, new_project


def apply(project: Project, cost: str, days: int) -> None:
    project.apply_change(uuid4(), eur(cost), days, "CR approved", by=SPONSOR)


def test_a_new_project_has_its_original_budget_and_no_approved_changes(project: Project) -> None:
    assert project.original_budget == BASELINE.budget
    assert (project.approved_cost, project.approved_schedule_days) == (eur("0"), 0)


def test_applying_a_change_moves_budget_and_end_date_and_accumulates(project: Project) -> None:
    apply(project, "5000", 7)
    apply(project, "-2000", 3)
    assert project.baseline.budget == eur("103000")
    assert project.baseline.end == date(2026, 1, 10)
    assert (project.baseline.start, project.baseline.scope) == (BASELINE.start, BASELINE.scope)
    assert (project.approved_cost, project.approved_schedule_days) == (eur("3000"), 10)
    assert project.original_budget == BASELINE.budget


def test_the_change_applied_event_records_both_baselines_and_the_cr(project: Project) -> None:
    cr_id = uuid4()
    project.apply_change(cr_id, eur("5000"), 7, "CR-7 approved", by=SPONSOR)
    applied = project.collect_events()[-1]
    assert isinstance(applied, Project.ChangeApplied)
    assert (applied.change_request_id, applied.previous) == (cr_id, BASELINE)
    assert applied.baseline == project.baseline
    assert project.applied_changes == (cr_id,)


def test_the_accumulators_feed_the_next_routing(project: Project) -> None:
    apply(project, "8000", 0)
    later = route_for(
        project.original_budget,
        TOLERANCES,
        project.approved_cost,
        project.approved_schedule_days,
        eur("3000"),
        0,
    )
    assert later is Route.BOARD


def test_the_same_cr_cannot_be_applied_twice(project: Project) -> None:
    cr_id = uuid4()
    project.apply_change(cr_id, eur("1"), 0, "CR approved", by=SPONSOR)
    with pytest.raises(RuleViolation, match="already applied"):
        project.apply_change(cr_id, eur("1"), 0, "CR approved", by=SPONSOR)


def test_a_change_cannot_make_the_budget_negative(project: Project) -> None:
    with pytest.raises(InvalidValue, match="negative"):
        apply(project, "-100000.01", 0)


def test_a_change_cannot_end_the_project_before_it_starts(project: Project) -> None:
    with pytest.raises(InvalidValue):
        apply(project, "0", -400)


def test_a_change_keeps_the_budget_currency(project: Project) -> None:
    with pytest.raises(InvalidValue, match="EUR"):
        project.apply_change(uuid4(), Money.zero("USD"), 0, "CR", by=SPONSOR)


def test_a_change_needs_a_reason(project: Project) -> None:
    with pytest.raises(InvalidValue):
        project.apply_change(uuid4(), eur("1"), 0, " ", by=SPONSOR)


def test_closed_or_cancelled_projects_take_no_change() -> None:
    project = new_project()
    project.cancel("Stopped", by=ADMIN)
    with pytest.raises(RuleViolation):
        apply(project, "1", 0)
