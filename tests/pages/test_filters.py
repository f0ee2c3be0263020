"""The pages' filters write exact markup: amounts, times and days as ``<data>`` and
``<time>``, everything from outside escaped (they build f-strings of escaped parts)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from markupsafe import Markup

from api.pages.render import day, money, utc_time


def test_money_writes_the_amount_and_currency_escaped() -> None:
    shown = money({"amount": "1234567.5", "currency": "EUR"})
    assert isinstance(shown, Markup)
    assert shown == (
        '<data class="money" value="1234567.5" data-currency="EUR">EUR 1,234,567.50</data>'
    )
    assert money(Decimal("-3"), '"><script>') == (
        '<data class="money" value="-3" data-currency="&#34;&gt;&lt;script&gt;">'
        "&#34;&gt;&lt;script&gt; -3.00</data>"
    )
    assert money("12", None) == '<data class="money" value="12" data-currency=""> 12.00</data>'
    assert money({"amount": "<b>", "currency": "EUR"}) == "&lt;b&gt; EUR"  # not a number


def test_times_and_days_are_written_in_utc() -> None:
    assert utc_time("2026-11-27T17:05:09+01:00") == (
        '<time datetime="2026-11-27T16:05:09Z" title="2026-11-27 16:05 UTC" data-local>'
        "2026-11-27 16:05 UTC</time>"
    )
    assert utc_time(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)).startswith(
        '<time datetime="2026-01-02T03:04:00Z"'
    )
    assert utc_time(None) == "" and day("") == ""
    assert day(date(2027, 3, 4)) == '<time datetime="2027-03-04">04 Mar 2027</time>'
    assert day("2027-03-04T10:00:00Z") == '<time datetime="2027-03-04">04 Mar 2027</time>'
