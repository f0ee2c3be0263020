"""Requesting and amending a gate review."""

from datetime import timedelta

import pytest

from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.gate_review import Decision, Evidence
from domain.policy import Actor
from domain.project import Project, ProjectStatus
from tests.domain.domain_given import (
    BOARD,
    CHAIR,
    EVIDENCE,
    GATEKEEPER,
    GATEKEEPER_2,
    PM,
    SIGNOFFS,
    approve,
    pass_gate,
    request,
)


def test_pm_requests_the_next_gate_review_with_evidence(project: Project) -> None:
    request(project, "G0")
    review = project.review
    assert review is not None
    assert (review.gate, review.requested_by, review.evidence) == ("G0", PM, EVIDENCE)
    assert review.votes == ()
    assert review.due == review.requested_at.date() + timedelta(days=10)


def test_a_delegate_of_the_pm_may_request_the_review(project: Project) -> None:
    request(project, "G0", by=Actor("dan", on_behalf_of="pat"))
    assert project.review is not None


@pytest.mark.parametrize("who", [Actor("sam"), Actor("cora"), Actor("pat", on_behalf_of="sam")])
def test_only_the_pm_may_request_a_review(project: Project, who: Actor) -> None:
    with pytest.raises(NotAllowed):
        request(project, "G0", by=who)


def test_a_gate_unknown_to_the_template_is_not_found(project: Project) -> None:
    with pytest.raises(NotFound):
        request(project, "G9")


def test_only_the_next_gate_can_be_reviewed(project: Project) -> None:
    with pytest.raises(RuleViolation, match="next gate"):
        request(project, "G1")


def test_a_second_review_cannot_be_opened_while_one_is_open(under_review: Project) -> None:
    with pytest.raises(RuleViolation, match="still open"):
        request(under_review, "G0")


def test_a_review_is_refused_while_required_signoffs_are_incomplete(project: Project) -> None:
    pass_gate(project, "G0")
    with pytest.raises(RuleViolation, match="Business case"):
        project.request_review("G1", EVIDENCE, by=PM)
    with pytest.raises(RuleViolation, match="Business case"):
        project.request_review("G1", EVIDENCE, by=PM, completed_signoffs=frozenset({"Other"}))
    project.request_review("G1", EVIDENCE, by=PM, completed_signoffs=frozenset({"Business case"}))
    assert project.review is not None


def test_a_closed_project_cannot_request_a_review(project: Project) -> None:
    for gate in ("G0", "G1", "G2", "G3", "G4"):
        pass_gate(project, gate)
    assert project.status is ProjectStatus.CLOSED
    with pytest.raises(RuleViolation):
        project.request_review("G4", EVIDENCE, by=PM, completed_signoffs=SIGNOFFS)


def test_a_project_on_hold_may_request_its_next_review(project: Project) -> None:
    project.put_on_hold("freeze", by=Actor("ada"))
    request(project, "G0")
    assert project.review is not None


def test_evidence_items_must_be_evidence(project: Project) -> None:
    with pytest.raises(InvalidValue):
        project.request_review("G0", ("a document",), by=PM)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        Evidence(title="")


def test_pm_amends_evidence_and_earlier_votes_no_longer_count(under_review: Project) -> None:
    approve(under_review, "G0", GATEKEEPER, GATEKEEPER_2)
    amended = (Evidence("Mandate v2", "https://docs/mandate", "sha256:bb"),)
    under_review.amend_evidence("G0", amended, by=PM)
    assert under_review.review is not None
    assert under_review.review.evidence == amended
    assert under_review.review.votes == ()
    with pytest.raises(RuleViolation, match="quorum"):
        under_review.decide("G0", Decision.GO, "ok", by=CHAIR, board=BOARD)


def test_votes_after_an_amendment_approve_the_amended_evidence(under_review: Project) -> None:
    amended = (Evidence("Mandate v2", content_hash="sha256:bb"),)
    under_review.amend_evidence("G0", amended, by=PM)
    approve(under_review, "G0", GATEKEEPER)
    assert under_review.review is not None
    assert under_review.review.votes[0].evidence == amended


def test_only_the_pm_may_amend_evidence(under_review: Project) -> None:
    with pytest.raises(NotAllowed):
        under_review.amend_evidence("G0", EVIDENCE, by=GATEKEEPER)


def test_evidence_can_only_be_amended_on_an_open_review(project: Project) -> None:
    with pytest.raises(RuleViolation, match="no review"):
        project.amend_evidence("G0", EVIDENCE, by=PM)
