"""Every value the domain accepts fits every read model, PostgreSQL and date arithmetic."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.bounds import LATEST_DATE, LATEST_TIME, require_time
from domain.change_rules import Impact, Route, route_for
from domain.errors import InvalidValue
from domain.gate_review import ConditionSpec, Evidence, check_seen_position
from domain.money import Money
from domain.policy import (
    Actor,
    Baseline,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    Tolerances,
    default_template,
)
from tests.domain.domain_given import BASELINE, SPONSOR, T0, eur, new_book, new_project

FAR_WEST = timezone(-timedelta(hours=23, minutes=59))
FAR_EAST = timezone(timedelta(hours=23, minutes=59))


@pytest.mark.parametrize(
    "start, end",
    [
        (date(1969, 12, 31), date(2025, 1, 1)),
        (date(2025, 1, 1), date(3000, 1, 1)),
        (date.min, date(2025, 1, 1)),
        (date(2025, 1, 1), date.max),
    ],
)
def test_baseline_dates_outside_1970_to_2999_are_refused(start: date, end: date) -> None:
    with pytest.raises(InvalidValue, match=r"baseline (start|end) must lie in"):
        Baseline(eur("1"), start, end, "")


def test_baseline_dates_at_the_edges_of_the_range_are_accepted() -> None:
    Baseline(eur("0"), date(1970, 1, 1), LATEST_DATE, "")


def test_a_condition_due_past_2999_is_refused() -> None:
    with pytest.raises(InvalidValue, match="condition due date"):
        ConditionSpec(uuid4(), "Fix it", "pat", date(9999, 12, 31))


@pytest.mark.parametrize(
    "value",
    [
        datetime(9999, 12, 31, 23, 59, tzinfo=FAR_WEST),  # past 9999 in UTC: OverflowError
        datetime(1, 1, 1, tzinfo=FAR_EAST),  # before year 1 in UTC
        datetime(3000, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_times_outside_the_range_are_refused_not_overflowing(value: datetime) -> None:
    with pytest.raises(InvalidValue, match="ends must lie in"):
        require_time(value, "ends")


def test_times_are_normalised_to_utc() -> None:
    value = datetime(2999, 12, 31, 23, 59, tzinfo=FAR_EAST)
    assert require_time(value, "t") == value and require_time(value, "t").tzinfo is UTC
    assert require_time(LATEST_TIME, "t") == LATEST_TIME


def test_a_delegation_window_is_stored_in_utc_and_in_range() -> None:
    book = new_book("gail")
    ends = (T0 + timedelta(days=2)).astimezone(FAR_WEST)
    book.delegate(uuid4(), "dora", T0.astimezone(FAR_EAST), ends, T0, by=Actor("gail"))
    (grant,) = book.delegations
    assert grant.ends == ends and grant.ends.tzinfo is UTC and grant.starts.tzinfo is UTC
    with pytest.raises(InvalidValue, match="ends must lie in"):
        far = datetime(9999, 12, 31, 23, 59, tzinfo=FAR_WEST)
        book.delegate(uuid4(), "dora", T0, far, T0, by=Actor("gail"))


@pytest.mark.parametrize(
    "amount, message",
    [
        ("1000000000000000", "digits before the point"),
        ("-1000000000000000", "digits before the point"),
        ("1E+20", "digits before the point"),
        ("0.00001", "digits after the point"),
        ("Infinity", "finite"),
    ],
)
def test_amounts_beyond_15_digits_and_4_places_are_refused(amount: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        Money(Decimal(amount), "EUR")


def test_the_largest_amount_is_accepted() -> None:
    assert Money(Decimal("-999999999999999.9999"), "EUR").is_negative()


def test_a_change_moving_the_end_past_2999_is_refused_before_any_overflow() -> None:
    late = Baseline(eur("100"), date(2990, 1, 1), LATEST_DATE, "")
    project = new_project(baseline=late)
    with pytest.raises(InvalidValue, match="baseline end must lie in"):
        project.apply_change(uuid4(), eur("0"), 3650, "CR approved", by=SPONSOR)
    assert project.baseline == late


def test_a_change_taking_the_budget_past_15_digits_is_refused() -> None:
    dates = (BASELINE.start, BASELINE.end)
    project = new_project(baseline=Baseline(eur("999999999999999"), *dates, ""))
    with pytest.raises(InvalidValue, match="budget after the change"):
        project.apply_change(uuid4(), eur("999999999999999"), 0, "CR approved", by=SPONSOR)


def test_routing_a_sum_beyond_one_amount_goes_to_the_board() -> None:
    huge = eur("999999999999999")
    route = route_for(huge, Tolerances(Decimal("10"), 10), huge, 0, huge, 0)
    assert route is Route.BOARD


@pytest.mark.parametrize("days", [3651, -3651, 10**30])
def test_schedule_deltas_beyond_ten_years_are_refused(days: int) -> None:
    with pytest.raises(InvalidValue, match="schedule delta must lie in"):
        Impact("t", "d", eur("1"), days, "", "")


@pytest.mark.parametrize(
    "build",
    [
        lambda: Tolerances(Decimal("1000.01"), 1),
        lambda: Tolerances(Decimal("10.001"), 1),
        lambda: Tolerances(Decimal("10"), 3651),
        lambda: DecisionPolicy(quorum=1001),
        lambda: GateDefinition("G", "S", DecisionPolicy(), vote_due_days=3651),
        lambda: GovernanceTemplate("T", 2**31, default_template().gates),
        lambda: GovernanceTemplate("T", 1, default_template().gates, signoff_due_days=10**20),
        lambda: check_seen_position(2**63),
    ],
)
def test_numbers_beyond_what_postgresql_and_date_arithmetic_hold_are_refused(
    build: Callable[[], object],
) -> None:
    with pytest.raises(InvalidValue):
        build()


@pytest.mark.parametrize(
    "build, what",
    [
        (lambda: Evidence("x" * 4001), "evidence title"),
        (lambda: Evidence("t", link="x" * 4001), "evidence link"),
        (lambda: Evidence("bad \ud800"), "evidence title"),
        (lambda: Impact("t", "d", eur("1"), 0, "s" * 4001, ""), "scope"),
        (lambda: Actor("p" * 101), "actor person"),
        (lambda: ConditionSpec(uuid4(), "d", "o" * 101, date(2027, 1, 1)), "condition owner"),
    ],
)
def test_texts_beyond_their_length_or_not_unicode_are_refused(
    build: Callable[[], object], what: str
) -> None:
    with pytest.raises(InvalidValue, match=what):
        build()
