"""Replay rebuilds the same state; events carry only serialisable, immutable values."""

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

from domain.gate_review import Decision, Vote
from domain.policy import Actor, Board, Role, default_template
from domain.portfolio import Portfolio
from domain.project import Project
from tests.domain.domain_given import (
    ADMIN,
    BASELINE,
    BOARD,
    CHAIR,
    GATEKEEPER,
    PM,
    SPONSOR,
    Evidence,
    approve,
    condition,
    new_project,
    pass_gate,
    request,
)

SCALARS = (str, int, bool, Decimal, UUID, datetime, date, type(None))


def replay(events: Sequence[Any]) -> Any:
    aggregate = events[0].mutate(None)
    for event in events[1:]:
        aggregate = event.mutate(aggregate)
    return aggregate


def assert_serialisable(value: object, where: str) -> None:
    if isinstance(value, Enum):
        assert isinstance(value, str), f"{where}: enum {type(value)} must be a str Enum"
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            assert_serialisable(item, f"{where}[{index}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = type(value).__dataclass_params__  # type: ignore[attr-defined]  # not in typeshed
        assert params.frozen, f"{where}: {type(value)} not frozen"
        for field in dataclasses.fields(value):
            assert_serialisable(getattr(value, field.name), f"{where}.{field.name}")
    else:
        assert isinstance(value, SCALARS), f"{where}: {type(value).__name__} not allowed"


def history() -> Project:
    project = new_project()
    project.assign_role("stan", Role.STAKEHOLDER, by=ADMIN)
    project.revoke_role("stan", Role.STAKEHOLDER, by=ADMIN)
    project.assign_role("sue", Role.SPONSOR, by=ADMIN)
    project.assign_role("sam", Role.SPONSOR, by=ADMIN)
    request(project, "G0")
    project.cast_vote("G0", Vote.REJECT, "No", by=GATEKEEPER, board=BOARD)
    project.amend_evidence("G0", (Evidence("v2", "l", "h"),), by=PM)
    approve(project, "G0", GATEKEEPER, Actor("dora", on_behalf_of="gus"))
    project.cast_vote("G0", Vote.ABSTAIN, "Changed my mind", by=GATEKEEPER, board=BOARD)
    project.decide("G0", Decision.HOLD, "Wait", by=CHAIR, board=BOARD, seen_position=3)
    spec = condition(owner="gail")
    pass_gate(project, "G0", conditions=(spec,))
    project.close_condition(spec.id, "Done", by=GATEKEEPER)
    request(project, "G1")
    approve(project, "G1", SPONSOR)
    project.decide("G1", Decision.RECYCLE, "Rework", by=CHAIR, board=BOARD)
    project.put_on_hold("Freeze", by=ADMIN)
    project.resume("Thaw", by=ADMIN)
    project.rebaseline(BASELINE, "CR-1", by=PM)
    project.cancel("Strategy", by=ADMIN)
    return project


def portfolio_history() -> Portfolio:
    portfolio = Portfolio.create(
        uuid4(), "Digital", ("Grow",), BASELINE.budget, BOARD, default_template(), ADMIN
    )
    portfolio.change_board(Board(("zoe", "gail"), "zoe"), by=ADMIN)
    portfolio.assign_role("audrey", Role.AUDITOR, by=ADMIN)
    portfolio.revoke_role("audrey", Role.AUDITOR, by=ADMIN)
    return portfolio


def test_replaying_a_project_s_events_rebuilds_the_same_state() -> None:
    project = history()
    events = project.collect_events()
    rebuilt = replay(events)
    assert vars(rebuilt) == vars(project)
    assert rebuilt.version == project.version == len(events)
    decided = [e for e in events if isinstance(e, Project.GateDecided)]
    assert [d.timestamp for d in rebuilt.decisions] == [e.timestamp for e in decided]
    assert rebuilt.decisions[0].votes == decided[0].votes


def test_replaying_a_portfolio_s_events_rebuilds_the_same_state() -> None:
    portfolio = portfolio_history()
    rebuilt = replay(portfolio.collect_events())
    assert vars(rebuilt) == vars(portfolio)


def test_every_event_attribute_is_an_allowed_immutable_value() -> None:
    events = [*history().collect_events(), *portfolio_history().collect_events()]
    for event in events:
        for name, value in vars(event).items():
            assert_serialisable(value, f"{type(event).__name__}.{name}")


def test_every_event_records_who_acted() -> None:
    events = [*history().collect_events(), *portfolio_history().collect_events()]
    assert all(isinstance(getattr(event, "by", None), Actor) for event in events)


def test_project_events_are_named_in_the_past_tense() -> None:
    names = {type(e).__name__ for e in history().collect_events()}
    assert names == {
        "Created",
        "RoleAssigned",
        "RoleRevoked",
        "ReviewRequested",
        "VoteCast",
        "VoteChanged",
        "EvidenceAmended",
        "GateDecided",
        "ConditionClosed",
        "PutOnHold",
        "Resumed",
        "Rebaselined",
        "Cancelled",
    }
