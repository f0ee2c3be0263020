"""The template library (TemplateSeries), a portfolio's switch of template and a
project's migration to another template version."""

from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest

from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.gate_review import Decision
from domain.policy import (
    Actor,
    Board,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    default_template,
)
from domain.portfolio import Portfolio
from domain.project import Project
from domain.template_series import TemplateSeries, template_series_id
from tests.domain import domain_given as g


def _series() -> TemplateSeries:
    return TemplateSeries.create("Lean", default_template(), "Our usual gates", g.ADMIN)


def _with_quorum(template: GovernanceTemplate, quorum: int) -> GovernanceTemplate:
    gates = tuple(replace(x, policy=replace(x.policy, quorum=quorum)) for x in template.gates)
    return replace(template, gates=gates)


def _replayed(aggregate: TemplateSeries) -> TemplateSeries:
    events = aggregate.collect_events()
    copy = None
    for e in events:
        copy = e.mutate(copy)
    assert isinstance(copy, TemplateSeries)
    return copy


# --- the library ------------------------------------------------------------------------


def test_a_template_is_created_as_version_1_under_its_name_and_replays() -> None:
    series = _series()
    assert series.id == template_series_id("Lean")
    assert (series.latest.name, series.latest.version) == ("Lean", 1)
    assert series.latest.gates == default_template().gates
    again = _replayed(series)
    assert again.versions == series.versions and again.name == "Lean"


def test_each_published_version_is_the_next_and_earlier_ones_stay() -> None:
    series = _series()
    series.publish(_with_quorum(default_template(), 1), "Smaller boards", g.ADMIN)
    series.publish(_with_quorum(default_template(), 3), "Bigger boards", g.ADMIN)
    assert [t.version for t in series.versions] == [1, 2, 3]
    assert series.version_of(1).gates[0].policy.quorum == 2
    assert series.version_of(2).gates[0].policy.quorum == 1
    assert series.version_of(3).name == "Lean"
    with pytest.raises(NotFound, match="no version 4"):
        series.version_of(4)
    assert [t.version for t in _replayed(series).versions] == [1, 2, 3]


def test_a_version_identical_to_the_latest_is_refused() -> None:
    series = _series()
    with pytest.raises(RuleViolation, match="already says exactly this"):
        series.publish(default_template(), "Again", g.ADMIN)
    assert len(series.versions) == 1


@pytest.mark.parametrize("reason", [""])
def test_acts_on_the_library_need_a_reason(reason: str) -> None:
    with pytest.raises(InvalidValue, match="reason"):
        TemplateSeries.create("Lean", default_template(), reason, g.ADMIN)
    with pytest.raises(InvalidValue, match="reason"):
        _series().publish(_with_quorum(default_template(), 1), reason, g.ADMIN)


# --- a portfolio's template ----------------------------------------------------------


def _portfolio() -> Portfolio:
    return Portfolio.create(
        UUID(int=7), "Ops", ("o",), g.eur("100"), g.BOARD, default_template(), g.ADMIN
    )


def test_a_portfolio_switches_template_and_the_changer_becomes_a_configurer() -> None:
    portfolio = _portfolio()
    lean = _series().latest
    portfolio.change_template(lean, "Lean for new projects", Actor("pia"))
    assert portfolio.template == lean
    assert "pia" in portfolio.configured_by


def test_a_portfolio_refuses_a_template_its_board_cannot_pass() -> None:
    portfolio = _portfolio()
    with pytest.raises(InvalidValue, match=r"template.gates\[0\].quorum"):
        portfolio.change_template(_with_quorum(_lean(), 4), "Bigger", g.ADMIN)
    assert portfolio.template == default_template()
    assert not portfolio.collect_events()[1:]


def test_a_portfolio_refuses_the_same_template_and_a_board_member_changing_it() -> None:
    portfolio = _portfolio()
    with pytest.raises(RuleViolation, match="already follows"):
        portfolio.change_template(default_template(), "Same", g.ADMIN)
    with pytest.raises(NotAllowed, match="member of the board"):
        portfolio.change_template(_series().latest, "Mine", g.CHAIR)


# --- a project's migration -----------------------------------------------------------


def _lean(version: int = 2, **changes: Any) -> GovernanceTemplate:
    return replace(default_template(), name="Lean", version=version, **changes)


def test_a_migrated_project_follows_the_new_versions_quorum_from_its_next_gate() -> None:
    project = g.new_project()
    g.pass_gate(project, "G0")
    one = _with_quorum(_lean(), 1)
    project.migrate_template(one, "Smaller quorum", g.ADMIN, g.BOARD)
    assert project.template == one and project.gates_passed == 1 and project.stage == "Initiation"
    g.request(project, "G1")
    g.approve(project, "G1", g.SPONSOR)  # the mandatory sponsor alone now meets quorum 1
    project.decide("G1", Decision.GO, "Enough", by=g.CHAIR, board=g.BOARD)
    assert project.stage == "Planning"
    events = project.collect_events()
    replayed: Project | None = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.template == one and replayed.stage == "Planning"
    migrated = next(e for e in events if isinstance(e, Project.TemplateMigrated))
    assert (migrated.previous_name, migrated.previous_version) == ("Default stage-gate", 1)
    assert migrated.reason == "Smaller quorum"


def test_a_project_without_migration_keeps_its_version() -> None:
    project = g.new_project()
    g.request(project, "G0")
    g.approve(project, "G0", g.GATEKEEPER)
    with pytest.raises(RuleViolation, match="quorum"):
        project.decide("G0", Decision.GO, "One is enough?", by=g.CHAIR, board=g.BOARD)


def test_migration_is_refused_while_a_review_is_open() -> None:
    project = g.new_project()
    g.request(project, "G0")
    with pytest.raises(RuleViolation, match="review of gate G0 is open"):
        project.migrate_template(_lean(), "Now", g.ADMIN, g.BOARD)
    assert project.template == default_template()


def gates_after(n: int) -> tuple[GateDefinition, ...]:
    return default_template().gates[n:]


def test_migration_is_refused_when_the_passed_gates_do_not_map() -> None:
    project = g.new_project()
    g.pass_gate(project, "G0")
    g.pass_gate(project, "G1")
    one_gate = _lean(gates=(default_template().gates[0],))
    with pytest.raises(RuleViolation, match="no next gate"):
        project.migrate_template(one_gate, "Fewer", g.ADMIN, g.BOARD)
    renamed = _lean(gates=(replace(default_template().gates[0], name="Start"), *gates_after(1)))
    with pytest.raises(RuleViolation, match="are not the first gates"):
        project.migrate_template(renamed, "Renamed", g.ADMIN, g.BOARD)
    gates = list(default_template().gates)
    gates[1] = replace(gates[1], opens_stage="Design")
    with pytest.raises(RuleViolation, match="stage cannot be mapped"):
        project.migrate_template(_lean(gates=tuple(gates)), "Stages", g.ADMIN, g.BOARD)
    assert project.template == default_template()


def test_migration_is_refused_for_a_closed_or_cancelled_project_and_for_the_same_version() -> None:
    project = g.new_project()
    with pytest.raises(RuleViolation, match="already follows"):
        project.migrate_template(default_template(), "Same", g.ADMIN, g.BOARD)
    project.cancel("Stopped", g.ADMIN)
    with pytest.raises(RuleViolation, match="closed or cancelled"):
        project.migrate_template(_lean(), "Late", g.ADMIN, g.BOARD)


def test_migration_is_refused_when_the_board_cannot_reach_the_quorum() -> None:
    project = g.new_project()
    with pytest.raises(InvalidValue, match="can never be met"):
        project.migrate_template(_with_quorum(_lean(), 5), "Big", g.ADMIN, g.BOARD)
    small = Board(("cora",), "cora")
    gate = GateDefinition("G0", "Initiation", DecisionPolicy(quorum=2))
    with pytest.raises(InvalidValue, match="can never be met"):
        project.migrate_template(_lean(gates=(gate,)), "Small board", g.ADMIN, small)


def test_a_board_member_cannot_migrate_and_a_reason_is_needed() -> None:
    project = g.new_project()
    with pytest.raises(NotAllowed, match="member of the board"):
        project.migrate_template(_lean(), "Mine", g.GATEKEEPER, g.BOARD)
    with pytest.raises(InvalidValue, match="reason"):
        project.migrate_template(_lean(), "", g.ADMIN, g.BOARD)
    assert project.template == default_template()
