"""Deciding a gate: who decides, what it needs, and what each decision does."""

from uuid import uuid4

import pytest

from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.gate_review import ConditionSpec, Decision, Vote
from domain.policy import (
    Actor,
    Board,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
)
from domain.project import Project, ProjectStatus
from tests.domain.domain_given import (
    BOARD,
    CHAIR,
    GATEKEEPER,
    GATEKEEPER_2,
    PM,
    SPONSOR,
    approve,
    condition,
    new_project,
    pass_gate,
    request,
)


@pytest.fixture
def approved(under_review: Project) -> Project:
    """Given two gatekeepers approved the G0 review (quorum 2)."""
    approve(under_review, "G0", GATEKEEPER, GATEKEEPER_2)
    return under_review


def test_go_opens_the_next_stage_and_activates_the_project(approved: Project) -> None:
    approved.decide("G0", Decision.GO, "Mandate is clear", by=CHAIR, board=BOARD, seen_position=7)
    assert (approved.status, approved.stage, approved.next_gate) == (
        ProjectStatus.ACTIVE,
        "Initiation",
        "G1",
    )
    assert approved.review is None
    record = approved.decisions[-1]
    assert (record.gate, record.decision, record.rationale) == (
        "G0",
        Decision.GO,
        "Mandate is clear",
    )
    assert (record.decided_by, record.seen_position, record.conditions) == (CHAIR, 7, ())
    assert {v.voter for v in record.votes} == {"gail", "gus"}
    assert record.timestamp == approved.modified_on


def test_conditional_go_advances_and_stores_open_conditions(approved: Project) -> None:
    spec = condition(owner="gail")
    approved.decide(
        "G0", Decision.CONDITIONAL_GO, "ok if", by=CHAIR, board=BOARD, conditions=(spec,)
    )
    assert (approved.status, approved.stage) == (ProjectStatus.ACTIVE, "Initiation")
    assert [(c.id, c.gate, c.owner, c.is_open) for c in approved.conditions] == [
        (spec.id, "G0", "gail", True)
    ]
    assert approved.decisions[-1].conditions == (spec,)


def test_hold_puts_the_project_on_hold_without_quorum(under_review: Project) -> None:
    under_review.decide("G0", Decision.HOLD, "Wait for funding", by=CHAIR, board=BOARD)
    assert under_review.status is ProjectStatus.ON_HOLD
    assert under_review.review is None
    assert under_review.next_gate == "G0"


def test_recycle_keeps_stage_and_status_for_a_new_review(at_g1_review: Project) -> None:
    at_g1_review.decide("G1", Decision.RECYCLE, "Rework the case", by=CHAIR, board=BOARD)
    assert (at_g1_review.status, at_g1_review.stage) == (ProjectStatus.ACTIVE, "Initiation")
    assert at_g1_review.review is None
    assert at_g1_review.next_gate == "G1"
    request(at_g1_review, "G1")


def test_kill_cancels_the_project_without_quorum(under_review: Project) -> None:
    under_review.decide("G0", Decision.KILL, "No business case", by=CHAIR, board=BOARD)
    assert under_review.status is ProjectStatus.CANCELLED
    assert under_review.review is None


def test_go_on_the_last_gate_closes_the_project(project: Project) -> None:
    for gate in ("G0", "G1", "G2", "G3", "G4"):
        pass_gate(project, gate)
    assert (project.status, project.stage, project.next_gate) == (
        ProjectStatus.CLOSED,
        "Closed",
        None,
    )


def test_go_from_hold_reactivates_the_project(under_review: Project) -> None:
    under_review.decide("G0", Decision.HOLD, "Wait", by=CHAIR, board=BOARD)
    pass_gate(under_review, "G0")
    assert under_review.status is ProjectStatus.ACTIVE


def test_go_needs_the_quorum_of_approvals(under_review: Project) -> None:
    approve(under_review, "G0", GATEKEEPER)
    under_review.cast_vote("G0", Vote.ABSTAIN, "conflicted", by=GATEKEEPER_2, board=BOARD)
    with pytest.raises(RuleViolation, match="quorum needs 2 approvals, has 1"):
        under_review.decide("G0", Decision.GO, "ok", by=CHAIR, board=BOARD)


def test_go_needs_every_mandatory_voter_s_approval(at_g1_review: Project) -> None:
    approve(at_g1_review, "G1", GATEKEEPER, GATEKEEPER_2)
    at_g1_review.cast_vote("G1", Vote.REJECT, "Too costly", by=SPONSOR, board=BOARD)
    for decision in (Decision.GO, Decision.CONDITIONAL_GO):
        with pytest.raises(RuleViolation, match="mandatory voter sam has not approved"):
            at_g1_review.decide(
                "G1",
                decision,
                "ok",
                by=CHAIR,
                board=BOARD,
                conditions=(condition(),) if decision is Decision.CONDITIONAL_GO else (),
            )
    approve(at_g1_review, "G1", SPONSOR)
    at_g1_review.decide("G1", Decision.GO, "ok", by=CHAIR, board=BOARD)
    assert at_g1_review.stage == "Planning"


def test_mandatory_sponsor_is_the_current_sponsor(at_g1_review: Project) -> None:
    approve(at_g1_review, "G1", GATEKEEPER, GATEKEEPER_2, SPONSOR)
    at_g1_review.assign_role("sue", "sponsor", by=Actor("ada"))  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="sue"):
        at_g1_review.decide("G1", Decision.GO, "ok", by=CHAIR, board=BOARD)


def test_votes_of_people_who_left_the_board_do_not_count(approved: Project) -> None:
    smaller = Board(members=("cora", "gail"), chair="cora")
    with pytest.raises(RuleViolation, match="quorum"):
        approved.decide("G0", Decision.GO, "ok", by=CHAIR, board=smaller)


def test_only_the_chair_decides_when_the_policy_says_so(approved: Project) -> None:
    with pytest.raises(NotAllowed, match="chair"):
        approved.decide("G0", Decision.GO, "ok", by=GATEKEEPER, board=BOARD)


def test_a_delegate_of_the_chair_may_decide(approved: Project) -> None:
    approved.decide("G0", Decision.GO, "ok", by=Actor("dora", on_behalf_of="cora"), board=BOARD)
    assert approved.stage == "Initiation"


def test_any_board_member_decides_when_the_chair_need_not_confirm() -> None:
    gate = GateDefinition("G0", "Closed", DecisionPolicy(quorum=1, chair_must_confirm=False))
    project = new_project(template=GovernanceTemplate("light", 1, (gate,)))
    request(project, "G0")
    approve(project, "G0", GATEKEEPER_2)
    with pytest.raises(NotAllowed):
        project.decide("G0", Decision.GO, "ok", by=Actor("olga"), board=BOARD)
    project.decide("G0", Decision.GO, "ok", by=GATEKEEPER, board=BOARD)
    assert project.status is ProjectStatus.CLOSED


def test_the_last_gate_closes_the_project_whatever_its_stage_is_called() -> None:
    policy = DecisionPolicy(quorum=1, chair_must_confirm=False)
    # A middle gate whose stage happens to be called "Closed" does not close it.
    gates = (GateDefinition("A", "Closed", policy), GateDefinition("B", "Done", policy))
    project = new_project(template=GovernanceTemplate("custom", 1, gates))
    for gate, status in (("A", ProjectStatus.ACTIVE), ("B", ProjectStatus.CLOSED)):
        request(project, gate)
        approve(project, gate, GATEKEEPER_2)
        project.decide(gate, Decision.GO, "ok", by=GATEKEEPER, board=BOARD)
        assert project.status is status


def test_the_requester_cannot_decide_even_as_chair(project: Project) -> None:
    board = Board(members=("pat", "gail", "gus"), chair="pat")
    request(project, "G0")
    with pytest.raises(NotAllowed):
        project.decide("G0", Decision.KILL, "mine", by=PM, board=board)


def test_the_requester_cannot_decide_on_behalf_of_the_chair(approved: Project) -> None:
    with pytest.raises(NotAllowed):
        approved.decide("G0", Decision.GO, "ok", by=Actor("pat", on_behalf_of="cora"), board=BOARD)


def test_a_decision_needs_a_rationale(approved: Project) -> None:
    with pytest.raises(InvalidValue, match="rationale"):
        approved.decide("G0", Decision.GO, "", by=CHAIR, board=BOARD)


def test_conditional_go_needs_a_condition(approved: Project) -> None:
    with pytest.raises(InvalidValue, match="at least one condition"):
        approved.decide("G0", Decision.CONDITIONAL_GO, "ok", by=CHAIR, board=BOARD)


@pytest.mark.parametrize("decision", [Decision.GO, Decision.HOLD, Decision.RECYCLE, Decision.KILL])
def test_only_conditional_go_takes_conditions(approved: Project, decision: Decision) -> None:
    with pytest.raises(InvalidValue, match="no conditions"):
        approved.decide("G0", decision, "ok", by=CHAIR, board=BOARD, conditions=(condition(),))


def test_condition_ids_must_be_unique(approved: Project) -> None:
    spec = condition()
    with pytest.raises(InvalidValue, match="unique"):
        approved.decide(
            "G0", Decision.CONDITIONAL_GO, "ok", by=CHAIR, board=BOARD, conditions=(spec, spec)
        )


def test_a_condition_needs_a_due_date_and_an_owner() -> None:
    with pytest.raises(InvalidValue, match="due"):
        ConditionSpec(uuid4(), "Fix it", "gail", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="owner"):
        ConditionSpec(uuid4(), "Fix it", "", condition().due)


def test_a_decision_needs_an_open_review(project: Project) -> None:
    with pytest.raises(RuleViolation, match="no review"):
        project.decide("G0", Decision.KILL, "stop", by=CHAIR, board=BOARD)


def test_deciding_an_unknown_gate_is_not_found(approved: Project) -> None:
    with pytest.raises(NotFound):
        approved.decide("G7", Decision.GO, "ok", by=CHAIR, board=BOARD)


def test_deciding_a_gate_other_than_the_open_one_is_refused(approved: Project) -> None:
    with pytest.raises(RuleViolation):
        approved.decide("G1", Decision.GO, "ok", by=CHAIR, board=BOARD)


def test_seen_position_is_not_negative(approved: Project) -> None:
    with pytest.raises(InvalidValue):
        approved.decide("G0", Decision.GO, "ok", by=CHAIR, board=BOARD, seen_position=-1)


def test_votes_close_with_the_decision(approved: Project) -> None:
    approved.decide("G0", Decision.GO, "ok", by=CHAIR, board=BOARD)
    with pytest.raises(RuleViolation):
        approve(approved, "G0", GATEKEEPER)
