"""Portfolio: board, envelope, template and portfolio-level roles."""

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import InvalidValue, RuleViolation
from domain.money import Money
from domain.policy import Board, Role, default_template
from domain.portfolio import Portfolio
from tests.domain.domain_given import ADMIN, BOARD, eur


def new_portfolio() -> Portfolio:
    return Portfolio.create(
        id=uuid4(),
        name="Digital",
        objectives=("Grow", "Simplify"),
        envelope=eur("5000000"),
        board=BOARD,
        template=default_template(),
        by=ADMIN,
    )


def test_portfolio_is_created_with_the_given_id_and_attributes() -> None:
    pid = uuid4()
    portfolio = Portfolio.create(
        pid, "Digital", ("Grow",), eur("1"), BOARD, default_template(), ADMIN
    )
    assert portfolio.id == pid
    assert portfolio.name == "Digital"
    assert portfolio.objectives == ("Grow",)
    assert portfolio.chair == "cora"
    assert portfolio.roles == ()


def test_portfolio_envelope_cannot_be_negative() -> None:
    with pytest.raises(InvalidValue):
        Portfolio.create(
            uuid4(), "X", (), Money(Decimal(-1), "EUR"), BOARD, default_template(), ADMIN
        )


def test_board_members_are_gatekeepers_and_the_chair_is_chair() -> None:
    portfolio = new_portfolio()
    assert portfolio.is_gatekeeper("gail")
    assert not portfolio.is_gatekeeper("pat")
    assert portfolio.roles_of("cora") == {Role.GATEKEEPER, Role.CHAIR}
    assert portfolio.roles_of("gail") == {Role.GATEKEEPER}
    assert portfolio.roles_of("pat") == frozenset()


def test_changing_the_board_changes_who_governs() -> None:
    portfolio = new_portfolio()
    portfolio.change_board(Board(members=("zoe", "gail"), chair="zoe"), by=ADMIN)
    assert portfolio.chair == "zoe"
    assert not portfolio.is_gatekeeper("cora")
    assert portfolio.roles_of("zoe") == {Role.GATEKEEPER, Role.CHAIR}


def test_stakeholder_and_auditor_roles_are_assigned_and_revoked_as_events() -> None:
    portfolio = new_portfolio()
    portfolio.assign_role("audrey", Role.AUDITOR, by=ADMIN)
    portfolio.assign_role("audrey", Role.STAKEHOLDER, by=ADMIN)
    assert portfolio.roles_of("audrey") == {Role.AUDITOR, Role.STAKEHOLDER}
    portfolio.revoke_role("audrey", Role.AUDITOR, by=ADMIN)
    assert portfolio.roles_of("audrey") == {Role.STAKEHOLDER}
    names = [type(e).__name__ for e in portfolio.collect_events()]
    assert names == ["Created", "RoleAssigned", "RoleAssigned", "RoleRevoked"]


def test_revoking_a_role_not_held_is_refused() -> None:
    with pytest.raises(RuleViolation, match="does not hold"):
        new_portfolio().revoke_role("audrey", Role.AUDITOR, by=ADMIN)


def test_assigning_a_role_twice_is_refused() -> None:
    portfolio = new_portfolio()
    portfolio.assign_role("audrey", Role.AUDITOR, by=ADMIN)
    with pytest.raises(RuleViolation, match="already"):
        portfolio.assign_role("audrey", Role.AUDITOR, by=ADMIN)


@pytest.mark.parametrize("role", [Role.GATEKEEPER, Role.CHAIR, Role.PM, Role.SPONSOR])
def test_board_and_project_roles_are_not_assignable_on_a_portfolio(role: Role) -> None:
    with pytest.raises(InvalidValue):
        new_portfolio().assign_role("x", role, by=ADMIN)
