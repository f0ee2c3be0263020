"""Sign-offs recorded on the project, and the gate prerequisites they satisfy."""

from uuid import UUID, uuid4

import pytest

from domain.errors import NotFound, RuleViolation
from domain.policy import (
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    RequiredSignOff,
    default_template,
)
from domain.project import Project
from domain.signoff import SignOffStatus
from tests.domain.domain_given import ADMIN, EVIDENCE, PM, pass_gate


def requested(
    project: Project, deliverable: str = "Business case", signatories: tuple[str, ...] = ("sam",)
) -> UUID:
    signoff_id = uuid4()
    project.record_signoff_requested(signoff_id, deliverable, "1.0", signatories, by=PM)
    return signoff_id


def completed(project: Project, deliverable: str = "Business case", *signatories: str) -> UUID:
    signoff_id = requested(project, deliverable, signatories or ("sam",))
    project.record_signoff_completed(signoff_id, by=PM)
    return signoff_id


def test_a_requested_sign_off_is_open_on_the_project(project: Project) -> None:
    signoff_id = requested(project)
    (summary,) = project.signoffs
    assert (summary.id, summary.deliverable, summary.version, summary.signatories) == (
        signoff_id,
        "Business case",
        "1.0",
        ("sam",),
    )
    assert summary.status is SignOffStatus.OPEN
    assert project.open_signoff_for("Business case") == signoff_id
    assert project.open_signoff_for("Project plan") is None


@pytest.mark.parametrize(
    ("record", "status"),
    [
        ("record_signoff_completed", SignOffStatus.COMPLETE),
        ("record_signoff_declined", SignOffStatus.DECLINED),
        ("record_signoff_superseded", SignOffStatus.SUPERSEDED),
    ],
)
def test_the_outcome_of_a_sign_off_is_recorded_once(
    project: Project, record: str, status: SignOffStatus
) -> None:
    signoff_id = requested(project)
    getattr(project, record)(signoff_id, by=PM)
    assert project.signoffs[0].status is status
    assert project.open_signoff_for("Business case") is None
    with pytest.raises(RuleViolation):
        getattr(project, record)(signoff_id, by=PM)


def test_an_unknown_sign_off_is_not_found(project: Project) -> None:
    with pytest.raises(NotFound):
        project.record_signoff_completed(uuid4(), by=PM)


def test_a_new_version_needs_the_open_request_superseded_first(project: Project) -> None:
    first = requested(project)
    with pytest.raises(RuleViolation, match="supersede"):
        requested(project)
    project.record_signoff_superseded(first, by=PM)
    second = requested(project)
    assert project.open_signoff_for("Business case") == second


def test_completed_deliverables_counts_a_complete_request_signed_by_the_sponsor(
    project: Project,
) -> None:
    completed(project, "Business case", "sam", "stan")
    assert project.completed_deliverables("G1") == {"Business case"}
    assert project.completed_deliverables("G0") == frozenset()


def test_a_sign_off_without_the_required_signer_does_not_count(project: Project) -> None:
    completed(project, "Business case", "stan")
    assert project.completed_deliverables("G1") == frozenset()


def test_only_the_latest_request_for_a_deliverable_counts(project: Project) -> None:
    completed(project, "Business case", "sam")
    requested(project, "Business case", ("sam",))  # version 2 awaits signatures
    assert project.completed_deliverables("G1") == frozenset()


def test_a_declined_latest_request_does_not_count(project: Project) -> None:
    completed(project, "Business case", "sam")
    declined = requested(project, "Business case", ("sam",))
    project.record_signoff_declined(declined, by=PM)
    assert project.completed_deliverables("G1") == frozenset()


def test_a_named_signer_or_the_pm_role_is_resolved(project: Project) -> None:
    template = GovernanceTemplate(
        "Custom",
        1,
        (
            GateDefinition(
                "G0",
                "Initiation",
                DecisionPolicy(),
                (
                    RequiredSignOff("Charter", signer="stan"),
                    RequiredSignOff("Mandate", signer_role="pm"),
                ),
            ),
        ),
    )
    custom = Project.create(
        uuid4(),
        uuid4(),
        "X",
        "pat",
        "sam",
        project.baseline,
        project.tolerances,
        template,
        ADMIN,
        portfolio_currency="EUR",
    )
    completed(custom, "Charter", "stan")
    completed(custom, "Mandate", "pat")
    assert custom.completed_deliverables("G0") == {"Charter", "Mandate"}


def test_gate_review_is_blocked_until_the_sign_off_is_complete(project: Project) -> None:
    pass_gate(project, "G0")
    signoff_id = requested(project, "Business case", ("sam",))
    with pytest.raises(RuleViolation, match="Business case"):
        project.request_review(
            "G1", EVIDENCE, by=PM, completed_signoffs=project.completed_deliverables("G1")
        )
    project.record_signoff_completed(signoff_id, by=PM)
    project.request_review(
        "G1", EVIDENCE, by=PM, completed_signoffs=project.completed_deliverables("G1")
    )
    assert project.review is not None


def test_the_default_template_governs_change_requests_and_sign_off_deadlines() -> None:
    template = default_template()
    assert template.change_policy == DecisionPolicy(quorum=2, mandatory_voters=("sponsor",))
    assert (template.cr_decision_days, template.signoff_due_days) == (10, 10)
