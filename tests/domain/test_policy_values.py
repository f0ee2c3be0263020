"""Value objects of the governance policy: actors, boards, templates, baselines."""

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import InvalidValue, NotFound
from domain.money import Money
from domain.policy import (
    Actor,
    Baseline,
    Board,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    Role,
    Tolerances,
    default_template,
)


def test_actor_acts_with_the_authority_of_whom_they_represent() -> None:
    delegate = Actor("bob", on_behalf_of="alice", correlation_id="req-1")
    assert delegate.acting_as == "alice"
    assert delegate.people == ("bob", "alice")
    assert Actor("alice").acting_as == "alice"
    assert Actor("alice").people == ("alice",)


def test_actor_needs_a_person() -> None:
    with pytest.raises(InvalidValue):
        Actor("")


def test_roles_are_string_enums() -> None:
    assert Role("sponsor") is Role.SPONSOR
    assert isinstance(Role.PMO_ADMIN, str)
    assert Role.PMO_ADMIN.value == "pmo_admin"


def test_board_chair_must_be_a_member() -> None:
    with pytest.raises(InvalidValue, match="chair"):
        Board(members=("a", "b"), chair="c")


def test_board_needs_members_and_stores_them_as_a_tuple() -> None:
    with pytest.raises(InvalidValue):
        Board(members=(), chair="a")
    board = Board(members=["a", "b"], chair="a")  # type: ignore[arg-type]
    assert board.members == ("a", "b")


def test_decision_policy_quorum_is_at_least_one() -> None:
    with pytest.raises(InvalidValue, match="quorum"):
        DecisionPolicy(quorum=0)


def test_the_pm_cannot_be_a_mandatory_voter_since_the_pm_never_votes() -> None:
    with pytest.raises(InvalidValue, match="'pm' cannot be a mandatory voter"):
        DecisionPolicy(mandatory_voters=("sponsor", "pm"))


def test_template_needs_gates_with_unique_names() -> None:
    gate = GateDefinition("G0", "Initiation", DecisionPolicy())
    with pytest.raises(InvalidValue, match="at least one gate"):
        GovernanceTemplate("t", 1, ())
    with pytest.raises(InvalidValue, match="unique"):
        GovernanceTemplate("t", 1, (gate, gate))


def test_template_finds_gates_by_name_and_reports_unknown_ones() -> None:
    template = default_template()
    assert template.index_of("G2") == 2
    assert template.gate("G2").opens_stage == "Execution"
    with pytest.raises(NotFound):
        template.gate("G9")


def test_default_template_has_five_gates_with_sponsor_mandatory_from_g1() -> None:
    template = default_template()
    assert [(g.name, g.title, g.opens_stage) for g in template.gates] == [
        ("G0", "Mandate", "Initiation"),
        ("G1", "Business case", "Planning"),
        ("G2", "Plan", "Execution"),
        ("G3", "Readiness", "Closure"),
        ("G4", "Closure", "Closed"),
    ]
    assert all(g.policy.quorum == 2 and g.policy.chair_must_confirm for g in template.gates)
    assert template.gate("G0").policy.mandatory_voters == ()
    assert all(g.policy.mandatory_voters == ("sponsor",) for g in template.gates[1:])
    assert [s.deliverable for s in template.gate("G1").required_signoffs] == ["Business case"]
    assert [s.deliverable for s in template.gate("G2").required_signoffs] == ["Project plan"]
    assert template.gate("G1").required_signoffs[0].signer_role == "sponsor"


def test_tolerances_are_not_negative() -> None:
    with pytest.raises(InvalidValue):
        Tolerances(Decimal("-1"), 0)
    with pytest.raises(InvalidValue):
        Tolerances(Decimal("5"), -1)
    with pytest.raises(InvalidValue):
        Tolerances(5.0, 1)  # type: ignore[arg-type]


def test_baseline_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidValue, match="before"):
        Baseline(Money(Decimal(1), "EUR"), date(2025, 2, 1), date(2025, 1, 1), "scope")


def test_baseline_budget_is_not_negative() -> None:
    with pytest.raises(InvalidValue, match="negative"):
        Baseline(Money(Decimal(-1), "EUR"), date(2025, 1, 1), date(2025, 1, 1), "scope")


def test_a_template_governs_change_requests_with_defaults_for_older_templates() -> None:
    gates = default_template().gates
    older = GovernanceTemplate("Old", 1, gates)
    assert older.change_policy == DecisionPolicy(quorum=2, mandatory_voters=("sponsor",))
    assert (older.cr_decision_days, older.signoff_due_days) == (10, 10)
    custom = GovernanceTemplate("New", 2, gates, DecisionPolicy(quorum=3), 5, 7)
    assert (custom.change_policy.quorum, custom.cr_decision_days) == (3, 5)


@pytest.mark.parametrize(
    "overrides",
    [{"cr_decision_days": 0}, {"signoff_due_days": True}, {"change_policy": "board"}],
)
def test_template_deadlines_are_whole_days_and_the_change_policy_a_policy(
    overrides: dict[str, object],
) -> None:
    with pytest.raises(InvalidValue):
        GovernanceTemplate("T", 1, default_template().gates, **overrides)  # type: ignore[arg-type]
