"""The in-server escalation job: overdue inbox items become one Escalated event each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from api.scheduler import escalate_once
from eventstore.database import Store
from projections.inbox.queries import inbox_for, overdue_items
from projections.portfolios.queries import portfolio_view
from projections.projects.queries import project_detail
from projections.registry import create_tables
from tests.projections.helpers import OPTS, by, drain, new_portfolio, new_project
from tests.workflows import given
from workflows import gates


async def test_overdue_votes_escalate_once_even_with_two_runners(store: Store) -> None:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    portfolio = await new_portfolio(store)
    project = await new_project(store, portfolio)
    await gates.request_review(
        store, project_id=project, gate="G0", evidence=[], by=by("paula"), options=OPTS
    )
    await drain(store)
    later = datetime.now(UTC) + timedelta(days=30)
    overdue = await inbox_for(store.pool, store.names, "dave", later.date(), later)
    assert [(i["overdue"], i["escalated"]) for i in overdue] == [(True, False)]
    view = await portfolio_view(store.pool, store.names, portfolio, later.date())
    assert view is not None and view["decisions"]["overdue"] == view["decisions"]["pending"] == 4

    written = await asyncio.gather(escalate_once(store, later), escalate_once(store, later))
    assert sum(written) == 4  # carol, dave, erin's votes and carol's decision
    assert await escalate_once(store, later) == 0
    events = await store.events.select_events(project)
    escalated = [e for e in events if e.topic.endswith("EscalatedTo")]
    assert len(escalated) == 4
    assert all(store.mapper.to_domain_event(e).by.correlation_id for e in escalated)
    await drain(store)
    async with store.pool.acquire() as conn:
        summaries = await conn.fetch(
            f"SELECT actor, summary FROM {store.names.q('rm_audit')} "
            "WHERE type = 'Project.EscalatedTo'"
        )
    assert {r["actor"] for r in summaries} == {"gateledger-scheduler"}
    assert any("vote:dave" in r["summary"] for r in summaries)
    # The inbox shows the escalation, and the job's next pass finds nothing to reload.
    dave = await inbox_for(store.pool, store.names, "dave", later.date(), later)
    assert [(i["overdue"], i["escalated"]) for i in dave] == [(True, True)]
    assert await overdue_items(store.pool, store.names, later.date()) == []
    # The escalations the inbox needs are no part of the project as read.
    detail = await project_detail(store.pool, store.names, project)
    assert detail is not None and "escalations" not in detail
    # New evidence on the same day keeps the due date, so the items stay escalated.
    await gates.amend_evidence(
        store, project_id=project, gate="G0", evidence=[], by=by("paula"), options=OPTS
    )
    await drain(store)
    dave = await inbox_for(store.pool, store.names, "dave", later.date(), later)
    assert [(i["overdue"], i["escalated"]) for i in dave] == [(True, True)]
    assert await escalate_once(store, later) == 0
    # Not overdue yet: nothing happens.
    assert await escalate_once(store, datetime.now(UTC)) == 0


async def test_a_new_due_date_unmarks_an_escalated_item_and_it_escalates_again(
    store: Store,
) -> None:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    project = await given.new_project(store)
    cr = await given.submitted_cr(store, project.id, "50")  # the sponsor decides, due NOW+10
    await drain(store)
    later = given.NOW + timedelta(days=30)
    assert await escalate_once(store, later) == 1
    await drain(store)
    sponsor = await inbox_for(store.pool, store.names, given.SPONSOR, later.date(), later)
    assert [(i["kind"], i["escalated"]) for i in sponsor] == [("cr_decision", True)]
    # Amended two days later: routed again with a new due date.
    await given.amend_unchanged(store, cr, now=given.NOW + timedelta(days=2))
    await drain(store)
    sponsor = await inbox_for(store.pool, store.names, given.SPONSOR, later.date(), later)
    assert [(i["overdue"], i["escalated"]) for i in sponsor] == [(True, False)]
    assert await escalate_once(store, later) == 1
