"""Money: a Decimal amount with an ISO 4217 currency code, never float.

``Money`` itself checks the code's form only (three capital letters): it is also built
when stored events replay (sums, re-baselined budgets), which must work as recorded.
Commands check that the code is an active ISO 4217 code, and the portfolio's, with
``require_money_in``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from domain.bounds import require_amount
from domain.currencies import require_currency
from domain.errors import InvalidValue

_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise InvalidValue(f"amount must be a Decimal, got {type(self.amount).__name__}")
        require_amount(self.amount, "amount")
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise InvalidValue(f"currency must be 3 uppercase letters, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise InvalidValue(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidValue(f"currency mismatch: {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def require_money_in(value: object, what: str, currency: str | None = None) -> Money:
    """``value`` if it is Money in an active ISO 4217 currency, and in ``currency`` when
    given (the portfolio's: one currency per portfolio); InvalidValue naming ``what``."""
    if not isinstance(value, Money):
        raise InvalidValue(f"{what} must be Money")
    require_currency(value.currency, f"{what}.currency", currency)
    return value
