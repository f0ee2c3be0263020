"""The inbox lists what the domain would let each person do (``domain.seats``): a
configurer seated on a board before the rule owes no vote or decision, as the aggregate
refuses both (the inbox once kept its own copy of the rule and listed them)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from domain.money import Money
from domain.policy import Actor, Board, default_template
from domain.portfolio import Portfolio
from eventstore.database import Store
from projections.inbox.queries import inbox_for
from projections.registry import prepare_tables
from tests.projections.helpers import OPTS, drain, new_project
from workflows import gates


async def test_a_configurer_on_a_legacy_board_owes_nothing(store: Store) -> None:
    await prepare_tables(store)
    # Given a portfolio recorded before the rule, whose creator ada chairs its board
    legacy = Portfolio(
        id=uuid4(),
        name="Legacy",
        objectives=(),
        envelope=Money(Decimal("1000000"), "EUR"),
        board=Board(("ada", "gail", "gus"), "ada"),
        template=default_template(),
        by=Actor("ada"),
    )
    stored = [store.mapper.to_stored_event(e) for e in legacy.collect_events()]
    await store.events.insert_events(stored)
    project = await new_project(store, legacy.id)
    await gates.request_review(
        store, project_id=project, gate="G0", evidence=(), by=Actor("paula"), options=OPTS
    )
    await drain(store)
    now = datetime.now(UTC)

    async def owed(person: str) -> set[str]:
        items = await inbox_for(store.pool, store.names, person, now.date(), now)
        return {i["kind"] for i in items}

    assert await owed("ada") == set()  # a configurer: neither a vote nor the decision
    assert await owed("gail") == {"vote"}
    assert await owed("paula") == set()  # the requester
