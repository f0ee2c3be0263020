"""Money: Decimal amounts with a currency code, never float."""

from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.money import Money


def test_money_adds_and_subtracts_in_the_same_currency() -> None:
    a, b = Money(Decimal("10.50"), "EUR"), Money(Decimal("0.25"), "EUR")
    assert a + b == Money(Decimal("10.75"), "EUR")
    assert a - b == Money(Decimal("10.25"), "EUR")


def test_money_keeps_decimal_precision_without_quantizing() -> None:
    total = Money(Decimal("0.1"), "EUR") + Money(Decimal("0.2"), "EUR")
    assert total.amount == Decimal("0.3")


@pytest.mark.parametrize("op", ["__add__", "__sub__"])
def test_money_refuses_arithmetic_across_currencies(op: str) -> None:
    with pytest.raises(InvalidValue, match="currency mismatch"):
        getattr(Money(Decimal(1), "EUR"), op)(Money(Decimal(1), "USD"))


def test_money_refuses_float_amounts() -> None:
    with pytest.raises(InvalidValue, match="Decimal"):
        Money(1.5, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity")])
def test_money_refuses_non_finite_amounts(amount: Decimal) -> None:
    with pytest.raises(InvalidValue, match="finite"):
        Money(amount, "EUR")


@pytest.mark.parametrize("currency", ["eur", "EURO", "EU", "E1R", ""])
def test_money_currency_is_three_uppercase_letters(currency: str) -> None:
    with pytest.raises(InvalidValue, match="currency"):
        Money(Decimal(1), currency)


def test_zero_and_negative() -> None:
    zero = Money.zero("CHF")
    assert zero == Money(Decimal(0), "CHF")
    assert not zero.is_negative()
    assert (zero - Money(Decimal("0.01"), "CHF")).is_negative()
    assert (-Money(Decimal(2), "CHF")).amount == Decimal(-2)


def test_money_is_frozen_and_hashable() -> None:
    money = Money(Decimal(1), "EUR")
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)  # type: ignore[misc]
    assert hash(money) == hash(Money(Decimal(1), "EUR"))
