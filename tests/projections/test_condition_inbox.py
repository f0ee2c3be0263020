"""Open conditions are owed work: in their owner's inbox with their due date, escalated
once when overdue (a fixed clock), gone once closed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from api.scheduler import escalate_once
from domain.gate_review import Decision, Vote
from eventstore.database import Store
from projections.inbox.queries import inbox_for
from projections.portfolios.queries import portfolio_view
from projections.registry import create_tables
from tests.projections.helpers import OPTS, by, drain, new_portfolio, new_project
from workflows import gates

LATER = datetime(2027, 3, 1, 9, tzinfo=UTC)


async def conditional_go(store: Store, owners: list[str]) -> tuple[UUID, UUID]:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    portfolio = await new_portfolio(store)
    project = await new_project(store, portfolio)
    await gates.request_review(
        store, project_id=project, gate="G0", evidence=[], by=by("paula"), options=OPTS
    )
    for voter in ("dave", "erin"):
        await gates.cast_vote(
            store,
            project_id=project,
            gate="G0",
            vote=Vote.APPROVE,
            rationale="ok",
            by=by(voter),
            options=OPTS,
        )
    await gates.decide_gate(
        store,
        project_id=project,
        gate="G0",
        decision=Decision.CONDITIONAL_GO,
        rationale="r",
        conditions=[(f"DPIA {i}", o, date(2027, 2, 1)) for i, o in enumerate(owners)],
        by=by("carol"),
        options=OPTS,
    )
    await drain(store)
    return portfolio, project


async def test_open_conditions_are_in_their_owners_inbox_with_due_date(store: Store) -> None:
    portfolio, project = await conditional_go(store, ["olga", "olga"])
    items = await inbox_for(store.pool, store.names, "olga", date(2027, 1, 1), LATER)
    assert [(i["kind"], i["due"], i["project_id"]) for i in items] == [
        ("condition", "2027-02-01", str(project))
    ] * 2
    assert {i["title"] for i in items} == {
        "X: condition of G0: DPIA 0",
        "X: condition of G0: DPIA 1",
    }
    # conditions are owed work, not pending decisions of the board
    view = await portfolio_view(store.pool, store.names, portfolio, LATER.date())
    assert view is not None and view["decisions"]["pending"] == 0


async def test_overdue_condition_escalates_once_and_closing_it_clears_the_inbox(
    store: Store,
) -> None:
    _, project = await conditional_go(store, ["olga"])
    assert await escalate_once(store, LATER) == 1
    assert await escalate_once(store, LATER) == 0  # refused as a repeat, or not reloaded
    await drain(store)
    (item,) = await inbox_for(store.pool, store.names, "olga", LATER.date(), LATER)
    assert (item["kind"], item["overdue"], item["escalated"]) == ("condition", True, True)
    assert await escalate_once(store, LATER) == 0
    await gates.close_condition(
        store,
        project_id=project,
        condition_id=UUID(item["subject_id"]),
        note="done",
        by=by("paula"),
        options=OPTS,
    )
    await drain(store)
    assert await inbox_for(store.pool, store.names, "olga", LATER.date(), LATER) == []


async def test_an_escalation_reaches_the_chair_or_for_the_chairs_own_item_the_pmo(
    store: Store,
) -> None:
    # Given a condition owned by olga and one owned by carol, the chair, both overdue
    _, project = await conditional_go(store, ["olga", "carol"])
    assert await escalate_once(store, LATER) == 2
    events = [store.mapper.to_domain_event(e) for e in await store.events.select_events(project)]
    sent = {e.item.split(":")[1]: e.to for e in events if type(e).__name__ == "EscalatedTo"}
    # Then olga's goes to the chair, carol's own to the portfolio's PMO (its creator)
    assert sent == {"olga": "carol", "carol": "admin"}
    await drain(store)
    (chair,) = [
        i
        for i in await inbox_for(store.pool, store.names, "carol", LATER.date(), LATER)
        if i["kind"] == "escalated"
    ]
    assert (chair["subject_id"], chair["escalated"], chair["due"]) == (
        str(project),
        True,
        "2027-02-01",
    )
    assert "condition of olga" in chair["title"]
    (pmo,) = await inbox_for(store.pool, store.names, "admin", LATER.date(), LATER)
    assert pmo["kind"] == "escalated" and "condition of carol" in pmo["title"]
