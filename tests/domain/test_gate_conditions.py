"""Conditions of a CONDITIONAL_GO block the following gate until closed."""

from uuid import UUID, uuid4

import pytest

from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.policy import Actor
from domain.project import Project
from tests.domain.domain_given import EVIDENCE, GATEKEEPER, GATEKEEPER_2, PM, SIGNOFFS, request

Given = tuple[Project, UUID]


def test_open_conditions_block_the_next_gate_review(with_condition: Given) -> None:
    project, _ = with_condition
    with pytest.raises(RuleViolation, match="Fix the risk log"):
        project.request_review("G1", EVIDENCE, by=PM, completed_signoffs=SIGNOFFS)


def test_closed_conditions_unblock_the_next_gate_review(with_condition: Given) -> None:
    project, condition_id = with_condition
    project.close_condition(condition_id, "Risk log updated", by=GATEKEEPER)
    request(project, "G1")
    assert project.review is not None


def test_closing_records_who_when_and_why(with_condition: Given) -> None:
    project, condition_id = with_condition
    project.close_condition(condition_id, "Done", by=Actor("dora", on_behalf_of="gail"))
    closed = project.conditions[0]
    assert (closed.closed, closed.is_open, closed.closing_note) == (True, False, "Done")
    assert closed.closed_by == Actor("dora", on_behalf_of="gail")
    assert closed.closed_at == project.modified_on
    assert project.open_conditions == ()


def test_the_pm_may_close_a_condition(with_condition: Given) -> None:
    project, condition_id = with_condition
    project.close_condition(condition_id, "Done", by=PM)
    assert not project.conditions[0].is_open


def test_only_the_owner_or_the_pm_may_close_a_condition(with_condition: Given) -> None:
    project, condition_id = with_condition
    with pytest.raises(NotAllowed):
        project.close_condition(condition_id, "Done", by=GATEKEEPER_2)


def test_an_unknown_condition_is_not_found(with_condition: Given) -> None:
    project, _ = with_condition
    with pytest.raises(NotFound):
        project.close_condition(uuid4(), "Done", by=PM)


def test_a_condition_cannot_be_closed_twice(with_condition: Given) -> None:
    project, condition_id = with_condition
    project.close_condition(condition_id, "Done", by=PM)
    with pytest.raises(RuleViolation, match="already closed"):
        project.close_condition(condition_id, "Again", by=PM)


def test_closing_a_condition_needs_a_note(with_condition: Given) -> None:
    project, condition_id = with_condition
    with pytest.raises(InvalidValue, match="note"):
        project.close_condition(condition_id, "", by=PM)
