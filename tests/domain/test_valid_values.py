"""Valid values only (issue 10 item 3): ISO 4217 currencies, one currency per portfolio,
person ids without invisible characters, decisions that saw a recorded position. Checked
by command methods, so events recorded before these rules still replay."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.change_request import ChangeRequest, Route
from domain.change_rules import Impact
from domain.currencies import ISO_4217, require_currency
from domain.delegation import Delegation
from domain.errors import InvalidValue
from domain.gate_review import ConditionSpec, Decision
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Role, default_template
from domain.portfolio import Portfolio
from domain.project import Project
from tests.domain.domain_given import (
    ADMIN,
    BASELINE,
    BOARD,
    CHAIR,
    DUE,
    PM,
    T0,
    TOLERANCES,
    eur,
    new_book,
    new_cr,
    new_project,
    new_signoff,
    submitted_cr,
)

# --- currencies -------------------------------------------------------------------------


def money(amount: str, currency: str) -> Money:
    return Money(Decimal(amount), currency)


def new_portfolio(envelope: Money) -> Portfolio:
    return Portfolio.create(uuid4(), "Digital", (), envelope, BOARD, default_template(), by=ADMIN)


@pytest.mark.parametrize("code", ["XYZ", "ABC", "HRK", "XXX", "XTS"])
def test_a_made_up_or_withdrawn_currency_is_refused_for_an_envelope(code: str) -> None:
    with pytest.raises(InvalidValue, match=rf"envelope\.currency: '{code}' is not an active ISO"):
        new_portfolio(money("1000", code))


@pytest.mark.parametrize("code", ["EUR", "USD", "JPY", "CHF", "XCG", "ZWG", "SLE"])
def test_an_active_iso_4217_currency_is_accepted(code: str) -> None:
    assert new_portfolio(money("1000", code)).currency == code


def test_the_currency_list_holds_only_three_capital_letters() -> None:
    assert len(ISO_4217) > 150
    assert all(len(c) == 3 and c.isascii() and c.isupper() for c in ISO_4217)
    with pytest.raises(InvalidValue, match="'eur' is not an active ISO"):
        require_currency("eur", "currency")


def test_a_project_budget_in_another_currency_than_its_portfolio_is_refused() -> None:
    usd = Baseline(money("100", "USD"), BASELINE.start, BASELINE.end, "")
    with pytest.raises(InvalidValue, match=r"baseline\.budget\.currency: USD is not the port"):
        new_project(baseline=usd, portfolio_currency="EUR")


def test_a_project_budget_in_a_made_up_currency_is_refused() -> None:
    xyz = Baseline(money("100", "XYZ"), BASELINE.start, BASELINE.end, "")
    with pytest.raises(InvalidValue, match=r"baseline\.budget\.currency: 'XYZ'"):
        new_project(baseline=xyz, portfolio_currency="XYZ")


def test_a_change_request_in_another_currency_than_its_project_is_refused() -> None:
    with pytest.raises(InvalidValue, match=r"cost_delta\.currency: JPY is not the portfolio"):
        new_cr(cost_delta=money("100", "JPY"))


def test_amending_a_change_request_into_another_currency_is_refused() -> None:
    cr = submitted_cr()
    with pytest.raises(InvalidValue, match=r"cost_delta\.currency: USD"):
        cr.amend("t", "d", money("1", "USD"), 1, "", "", PM, Route.SPONSOR, DUE, "EUR")
    with pytest.raises(InvalidValue, match=r"cost_delta\.currency: USD"):  # the CR's by default
        cr.amend("t", "d", money("1", "USD"), 1, "", "", PM, Route.SPONSOR, DUE)
    cr.amend("t", "d", eur("1"), 1, "", "", PM, Route.SPONSOR, DUE, "EUR")
    assert cr.cost_delta == eur("1")


# --- person ids -------------------------------------------------------------------------

HIDDEN = {
    "zero width space": "paula\u200b",
    "soft hyphen": "pau\u00adla",
    "right-to-left override": "\u202epaula",
    "left-to-right isolate": "pa\u2066ula",
    "zero width joiner": "pau\u200dla",
    "byte order mark": "\ufeffpaula",
    "no-break space": "paula\u00a0b",
    "ideographic space": "paula\u3000b",
    "line separator": "pau\u2028la",
    "hangul filler": "paula\u3164",
    "variation selector": "paula\ufe0f",
    "bell (control)": "pau\x07la",
    "escape (control)": "\x1bpaula",
    "private use": "paula\ue000",
}
ODD = {
    **HIDDEN,
    "trailing space": "paula ",
    "leading tab": "\tpaula",
    "not NFC (e + combining acute)": "jose\u0301",
    "101 characters": "p" * 101,
}


@pytest.fixture(params=sorted(ODD), ids=sorted(ODD))
def odd(request: pytest.FixtureRequest) -> str:
    return ODD[request.param]


def test_an_odd_person_id_is_refused_as_pm_and_sponsor(odd: str) -> None:
    with pytest.raises(InvalidValue, match="project manager"):
        new_project(pm=odd)
    with pytest.raises(InvalidValue, match="sponsor"):
        new_project(sponsor=odd)


def test_an_odd_person_id_is_refused_on_a_board(odd: str) -> None:
    with pytest.raises(InvalidValue, match="board member"):
        Board(members=("cora", odd), chair="cora")


def test_an_odd_person_id_is_refused_as_actor_or_on_behalf_of(odd: str) -> None:
    with pytest.raises(InvalidValue, match="actor person"):
        Actor(odd)
    with pytest.raises(InvalidValue, match="on_behalf_of"):
        Actor("gail", on_behalf_of=odd)


def test_an_odd_person_id_is_refused_as_delegate(odd: str) -> None:
    book = new_book()
    with pytest.raises(InvalidValue, match="delegate"):
        book.delegate(uuid4(), odd, T0, T0 + timedelta(days=1), T0, Actor("gail"))


def test_an_odd_person_id_is_refused_as_signatory(odd: str) -> None:
    with pytest.raises(InvalidValue, match="signatory"):
        new_signoff(signatories=("sam", odd))


def test_an_odd_person_id_is_refused_as_condition_owner(odd: str) -> None:
    with pytest.raises(InvalidValue, match="condition owner"):
        ConditionSpec(uuid4(), "Fix the risk log", odd, DUE)


def test_an_odd_person_id_is_refused_as_stakeholder(odd: str) -> None:
    with pytest.raises(InvalidValue, match="person"):
        new_project().assign_role(odd, Role.STAKEHOLDER, ADMIN)
    portfolio = new_portfolio(eur("1"))
    with pytest.raises(InvalidValue, match="person"):
        portfolio.assign_role(odd, Role.STAKEHOLDER, ADMIN)


def test_the_message_names_the_hidden_character() -> None:
    with pytest.raises(InvalidValue, match=r"project manager: .*U\+200B \(ZERO WIDTH SPACE\)"):
        new_project(pm="paula\u200b")


@pytest.mark.parametrize("person", ["paula", "Paula Smith", "José", "李娜", "o'brien-2"])
def test_ordinary_person_ids_are_accepted(person: str) -> None:
    assert new_project(pm=person).pm == person


# --- positions ---------------------------------------------------------------------------


def test_a_decision_that_saw_a_position_past_the_log_head_is_refused(
    under_review: Project,
) -> None:
    with pytest.raises(InvalidValue, match="seen_position: 8 is past the log's head 7"):
        under_review.decide(
            "G0", Decision.HOLD, "wait", by=CHAIR, board=BOARD, seen_position=8, log_head=7
        )
    under_review.decide(
        "G0", Decision.HOLD, "wait", by=CHAIR, board=BOARD, seen_position=7, log_head=7
    )
    assert under_review.decisions[-1].seen_position == 7


# --- replay ------------------------------------------------------------------------------


def replay(events: Sequence[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def recorded_actor(person: str) -> Actor:
    """An actor as the transcoder decodes it: stored fields, no checks re-run."""
    actor = object.__new__(Actor)
    for name, value in (("person", person), ("on_behalf_of", None), ("correlation_id", None)):
        object.__setattr__(actor, name, value)
    return actor


def test_a_project_recorded_with_a_made_up_currency_and_hidden_characters_replays() -> None:
    xyz = Baseline(money("100", "XYZ"), BASELINE.start, BASELINE.end, "")
    args: dict[str, Any] = dict(
        name="Legacy", baseline=xyz, tolerances=TOLERANCES, template=default_template()
    )
    legacy = Project(  # as recorded before the rules
        id=uuid4(), portfolio_id=uuid4(), pm="paula\u200b", sponsor="sam", by=ADMIN, **args
    )
    legacy.apply_change(uuid4(), money("5", "XYZ"), 3, "approved", by=ADMIN)
    rebuilt = replay(legacy.collect_events())
    assert vars(rebuilt) == vars(legacy)
    assert (rebuilt.pm, rebuilt.approved_cost) == ("paula\u200b", money("5", "XYZ"))


def test_a_change_request_recorded_in_another_currency_replays() -> None:
    cr = ChangeRequest(
        id=uuid4(),
        project_id=uuid4(),
        portfolio_id=uuid4(),
        impact=Impact("Add SSO", "Why", money("100", "USD"), 7, "", ""),
        by=recorded_actor("pat\u200b"),
    )
    rebuilt = replay(cr.collect_events())
    assert vars(rebuilt) == vars(cr)
    assert rebuilt.cost_delta == money("100", "USD")
    assert rebuilt.submitter == "pat\u200b"


def test_a_delegation_recorded_to_an_odd_delegate_still_grants() -> None:
    book = new_book()
    starts = datetime(2025, 3, 1, tzinfo=UTC)
    grant = Delegation(uuid4(), "gus\u200b", starts, starts + timedelta(days=3))
    book._delegated(delegation=grant, by=Actor("gail"))
    rebuilt = replay(book.collect_events())
    assert rebuilt.grants("gus\u200b", starts + timedelta(days=1)) == grant.id
