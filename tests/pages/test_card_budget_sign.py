"""A project card on the portfolio and administration pages says the budget the API's
list and the project's own page say, also for an amount the read model's numeric column
cannot hold as written: a budget entered as -0.00 (accepted: it is not below zero) read
0.00 from ``rm_projects.budget`` while the list said -0.00."""

from __future__ import annotations

from uuid import UUID

from api.pages import portfolios as portfolio_pages
from domain.stored_names import STORED_NAMES
from eventstore.database import open_store
from eventstore.schema import StoreNames
from projections.projects import queries as project_list
from tests.pages.conftest import Room


async def test_a_card_of_a_negative_zero_budget_says_what_the_list_says(room: Room) -> None:
    api = room.api
    portfolio = await api.portfolio(name="Zero")
    baseline = {
        "budget": {"amount": "-0.00", "currency": "EUR"},
        "start": "2027-01-01",
        "end": "2027-12-31",
        "scope": "Nothing yet",
    }
    project = await api.project(portfolio, name="Zero", baseline=baseline)
    await api.state(project)
    store = await open_store(
        room.database_url, StoreNames(schema=room.schema), stored_names=STORED_NAMES, max_size=2
    )
    try:
        listed, _ = await project_list.list_projects(
            store.pool, store.names, portfolio_id=UUID(portfolio), limit=100
        )
        cards, _ = await portfolio_pages.project_cards(store, portfolio_id=UUID(portfolio))
    finally:
        await store.pool.close()
    assert [c["budget"] for c in listed] == [{"amount": "-0.00", "currency": "EUR"}]
    assert cards == listed
