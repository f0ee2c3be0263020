"""How a rebuild reads the log: the fast decoding of frequent event types, the audit
rows computed in Python, projection versions, and the connections a rebuild needs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from api.scheduler import escalate_once
from domain.change_request import CRDecision
from domain.gate_review import Decision, Evidence, Vote
from domain.policy import Board, Role
from domain.portfolio import Portfolio
from domain.project import Project
from domain.stored_names import STORED_NAMES
from eventstore.database import Store, open_store
from projections.audit import model as audit_trail
from projections.engine import events as changes
from projections.engine.projector import apply_batch
from projections.engine.read_model import lock_key
from projections.engine.rebuild import RebuildRunning, rebuild_many
from projections.engine.tracking import lock_position, read_position, set_position
from projections.inbox.model import Inbox
from projections.registry import all_projections, by_name, create_tables, prepare_tables
from tests.projections.every_event import every_event_log
from tests.projections.helpers import busy_portfolio, drain, dump
from tests.workflows import given
from tests.workflows.given import CHAIR, GATEKEEPER, GATEKEEPER_2, SPONSOR
from workflows import gates
from workflows.uow import UnitOfWork, run_command

ADMIN = given.by("admin")


@pytest.fixture
async def projected(store: Store) -> Store:
    async with store.pool.acquire() as conn:
        await create_tables(conn, store.names)
    return store


async def rich_log(store: Store) -> tuple[UUID, UUID, UUID]:
    """Votes, vote changes, decisions with conditions, a board-routed change request with
    a changed vote, one approved by the sponsor, a sign-off and a delegation."""
    await busy_portfolio(store, projects=10)
    project = await given.new_project(store)
    await _conditional_g0(store, project.id)
    await given.approved_by_sponsor(store, project.id, "50")
    cr = await given.submitted_cr(store, project.id, "500", 10)
    await given.vote_cr(store, cr, given.by(GATEKEEPER))
    await given.vote_cr(store, cr, given.by(GATEKEEPER), Vote.REJECT)
    await given.vote_cr(store, cr, given.by(GATEKEEPER_2))
    await given.vote_cr(store, cr, given.by(SPONSOR))
    await given.decide_cr(store, cr, given.by(CHAIR), CRDecision.APPROVE)
    await given.request_signoff(store, project.id, "Design", "1", [SPONSOR])
    await given.delegate(store, CHAIR, "olga")
    return project.id, project.portfolio_id, cr


async def _conditional_g0(store: Store, project_id: UUID) -> None:
    """Evidence amended, a vote changed, a conditional go, its condition closed."""
    opts, gate = given.OPTS, "G0"
    as_pm: dict[str, Any] = {
        "project_id": project_id,
        "gate": gate,
        "by": given.by(given.PM),
        "options": opts,
    }
    await gates.request_review(store, evidence=[Evidence("Mandate")], **as_pm)
    await gates.amend_evidence(store, evidence=[Evidence("Mandate v2")], **as_pm)
    for voter, vote in (
        (GATEKEEPER, Vote.REJECT),
        (GATEKEEPER, Vote.APPROVE),
        (CHAIR, Vote.APPROVE),
    ):
        await gates.cast_vote(
            store,
            project_id=project_id,
            gate=gate,
            vote=vote,
            rationale="r",
            by=given.by(voter),
            options=opts,
        )
    decided = await gates.decide_gate(
        store,
        project_id=project_id,
        gate=gate,
        decision=Decision.CONDITIONAL_GO,
        rationale="go, with a DPIA",
        conditions=[("DPIA", given.PM, date(2027, 3, 1))],
        by=given.by(CHAIR),
        options=opts,
    )
    (condition,) = decided.details["condition_ids"]
    await gates.close_condition(
        store,
        project_id=project_id,
        condition_id=UUID(condition),
        note="done",
        by=given.by(given.PM),
        options=opts,
    )


async def test_fast_and_general_decoding_build_the_same_read_models(
    projected: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await every_event_log(projected)
    await rebuild_many(projected, all_projections())
    fast = await dump(projected)
    assert all(fast.values())
    decoded_fast = {k.key for k in changes._kinds.values() if k.decode is not None}
    assert decoded_fast == set(changes._FAST)  # the log has every type decoded fast
    # Every type through the general path (attributes as undecoded JSON, read lazily).
    monkeypatch.setattr(changes, "_FAST", {})
    monkeypatch.setattr(changes, "_kinds", {})
    await rebuild_many(projected, all_projections())
    assert await dump(projected) == fast
    assert all(k.decode is None for k in changes._kinds.values())


async def test_audit_rows_say_who_did_what_where(projected: Store) -> None:
    project, portfolio, cr = await rich_log(projected)
    async with projected.pool.acquire() as conn:
        while await apply_batch(conn, projected, by_name("audit"), 50):
            pass
        rows = await conn.fetch(
            f"SELECT type, summary, project_id, portfolio_id FROM {projected.names.q('rm_audit')}"
            " WHERE aggregate_id = $1 ORDER BY position",
            cr,
        )
        lines = await conn.fetch(
            f"SELECT summary FROM {projected.names.q('rm_audit')} WHERE project_id = $1 "
            "ORDER BY position",
            project,
        )
    # A change request's rows carry its project and portfolio, not only its first one.
    assert {(r["project_id"], r["portfolio_id"]) for r in rows} == {(project, portfolio)}
    assert [r["summary"] for r in rows] == [
        "paula drafted change request 'Change 500'",
        "paula submitted the change request, routed to the board",
        "dave voted approve on change request 'Change 500'",
        "dave changed their vote on change request 'Change 500' to reject",
        "erin voted approve on change request 'Change 500'",
        "sam voted approve on change request 'Change 500'",
        "carol decided approve on change request 'Change 500'",
    ]
    summaries = [r["summary"] for r in lines]
    for expected in (
        "admin created project 'X'",
        "paula requested the G0 review",
        "paula amended the G0 evidence",
        "dave voted reject on G0",
        "dave changed their G0 vote to approve",
        "carol decided CONDITIONAL_GO at G0",
        "paula closed condition 'DPIA'",
        "sam re-baselined the project after an approved change (+50 EUR, +0 days)",
        "carol re-baselined the project after an approved change (+500 EUR, +10 days)",
        "paula recorded a sign-off request for 'Design' v1",
        "paula requested sign-off of 'Design' v1",
    ):
        assert expected in summaries, (expected, "\n".join(summaries))
    # The general "<who>: <Aggregate> <event>" line means a type has no summary of its own.
    assert not [s for s in summaries if s.split(" ", 1)[0].endswith(":")], summaries


async def test_an_outdated_projection_loses_its_tables_and_starts_again(
    projected: Store,
) -> None:
    names = projected.names
    async with projected.pool.acquire() as conn:
        await conn.execute(f"CREATE TABLE {names.q('rm_audit_projects')} (x int)")
        await conn.execute(
            f"UPDATE {names.q('gl_settings')} SET value = '1' WHERE key = $1",
            "projection:audit:version",
        )
        async with conn.transaction():
            await lock_position(conn, names, "audit")
            await set_position(conn, names, "audit", 5)
        await create_tables(conn, names)
        retired = await conn.fetchval("SELECT to_regclass($1)", names.q("rm_audit_projects"))
        version = await conn.fetchval(
            f"SELECT value FROM {names.q('gl_settings')} WHERE key = 'projection:audit:version'"
        )
        assert retired is None and version == str(audit_trail.AuditTrail.version)
        assert await read_position(conn, names, "audit") == 0
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
            "AND table_name = 'rm_audit'",
            names.schema,
        )
        assert "actor_key" in {r[0] for r in columns}
        # The other read models are untouched.
        assert await conn.fetchval(
            f"SELECT value FROM {names.q('gl_settings')} WHERE key = $1",
            "projection:inbox:version",
        ) == str(Inbox.version)


async def test_a_rebuild_refuses_a_pool_too_small_before_writing_anything(
    projected: Store, database_url: str
) -> None:
    small = await open_store(
        database_url, projected.names, stored_names=STORED_NAMES, min_size=1, max_size=2
    )
    try:
        with pytest.raises(ValueError, match=f"needs a pool of {len(all_projections()) + 4}"):
            await rebuild_many(small, all_projections())
        async with small.pool.acquire() as conn:
            leftovers = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = $1 "
                "AND tablename LIKE '%\\_\\_rb%'",
                projected.names.schema,
            )
        assert leftovers == 0
    finally:
        await small.close()


async def test_a_second_rebuild_of_the_same_projection_waits_its_turn(projected: Store) -> None:
    """A rebuild running elsewhere holds its lock: another one is refused and does not
    take its new tables for leftovers of a dead rebuild."""
    await busy_portfolio(projected, projects=2)
    names = projected.names
    elsewhere = lock_key(names, "rebuild:audit")
    async with projected.pool.acquire() as other:
        await other.execute(f"CREATE TABLE {names.q('rm_audit__rb0ther')} (x int)")
        await other.execute("SELECT pg_advisory_lock($1)", elsewhere)
        try:
            with pytest.raises(RebuildRunning, match="rebuild of audit is already running"):
                await rebuild_many(projected, all_projections())
            assert await other.fetchval("SELECT to_regclass($1)", names.q("rm_audit__rb0ther"))
        finally:
            await other.execute("SELECT pg_advisory_unlock($1)", elsewhere)
        await rebuild_many(projected, all_projections())  # its turn: the leftover goes
        assert await other.fetchval("SELECT to_regclass($1)", names.q("rm_audit__rb0ther")) is None


async def test_a_board_or_sponsor_change_reaches_inboxes_outside_its_batch(
    projected: Store,
) -> None:
    """Batches of one event: the board change and the sponsor change arrive alone, yet
    the open review's voters and the change request's decider follow them, exactly as a
    fresh rebuild computes."""
    project = await given.new_project(projected)
    await gates.request_review(
        projected,
        project_id=project.id,
        gate="G0",
        evidence=[Evidence("Mandate")],
        by=given.by(given.PM),
        options=given.OPTS,
    )
    await given.submitted_cr(projected, project.id, "50")  # within tolerance: the sponsor

    async def change(kind: type[Any], aggregate_id: UUID, act: Callable[[Any], None]) -> None:
        async def use_case(uow: UnitOfWork) -> Any:
            found = await uow.get(kind, aggregate_id)
            act(found)
            return found

        await run_command(projected, use_case, given.OPTS)

    async def drain_inbox() -> None:
        await drain(projected, 1, [by_name("inbox")])

    async def inbox(kind: str) -> set[str]:
        rows = await projected.pool.fetch(
            f"SELECT person FROM {projected.names.q('rm_inbox')} WHERE kind = $1", kind
        )
        return {r[0] for r in rows}

    await drain_inbox()
    assert await inbox("vote") == {CHAIR, GATEKEEPER, GATEKEEPER_2}
    assert await inbox("cr_decision") == {SPONSOR}
    new_board = Board((CHAIR, GATEKEEPER, "frank"), CHAIR)
    await change(Portfolio, project.portfolio_id, lambda p: p.change_board(new_board, ADMIN))
    await drain_inbox()
    assert await inbox("vote") == {CHAIR, GATEKEEPER, "frank"}
    await change(Project, project.id, lambda p: p.assign_role("sally", Role.SPONSOR, ADMIN))
    await drain_inbox()
    assert await inbox("cr_decision") == {"sally"}
    live = await dump(projected, [by_name("inbox")])
    await rebuild_many(projected, [by_name("inbox")])
    assert await dump(projected, [by_name("inbox")]) == live


async def test_an_outdated_read_model_is_rebuilt_before_it_is_read(projected: Store) -> None:
    """What start-up does: the outdated audit trail comes back whole, at the head."""
    await busy_portfolio(projected, projects=3)
    names = projected.names
    head = await projected.events.max_notification_id()
    async with projected.pool.acquire() as conn:
        await conn.execute(
            f"UPDATE {names.q('gl_settings')} SET value = '1' WHERE key = $1",
            "projection:audit:version",
        )
    rebuilt = await prepare_tables(projected)
    assert [p.name for p in rebuilt] == ["audit"]
    async with projected.pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {names.q('rm_audit')}") == head
        assert await read_position(conn, names, "audit") == head
    assert await prepare_tables(projected) == []  # up to date now


async def _positions(store: Store) -> dict[str, int]:
    async with store.pool.acquire() as conn:
        return {p.name: await read_position(conn, store.names, p.name) for p in all_projections()}


class FailingGovernance(Inbox):
    """Dies at its third batch, while the audit trail has a COPY in flight."""

    def __init__(self) -> None:
        self.batches = 0

    async def apply_bulk(self, *args: Any) -> Any:
        self.batches += 1
        if self.batches == 3:
            raise RuntimeError("the inbox model broke")
        return await super().apply_bulk(*args)


async def test_a_failed_rebuild_gives_everything_back_and_the_next_one_runs(
    projected: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await busy_portfolio(projected, projects=6)
    await drain(projected)  # live tables with rows in them, to be kept as they are
    monkeypatch.setattr(audit_trail, "COPY_ROWS", 5)  # a COPY in flight at every batch
    before = await dump(projected)
    assert before["rm_inbox"] and before["rm_audit"]
    positions = await _positions(projected)
    failing = rebuild_many(projected, [FailingGovernance(), by_name("audit")], batch_size=10)
    with pytest.raises(RuntimeError, match="the inbox model broke"):
        await asyncio.wait_for(failing, 30)  # a COPY left running used to hang it
    in_use = projected.pool.get_size() - projected.pool.get_idle_size()
    assert in_use == 0  # reader, COPY writer, projections' and the lock's connections
    assert await dump(projected) == before  # the live tables were never touched
    assert await _positions(projected) == positions
    await rebuild_many(projected, all_projections(), batch_size=10)  # lock free, leftovers go
    async with projected.pool.acquire() as conn:
        leftovers = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%\\_\\_rb%'",
            projected.names.schema,
        )
    assert leftovers == 0


async def test_escalations_read_the_same_live_and_rebuilt(projected: Store) -> None:
    await rich_log(projected)
    await drain(projected)  # inboxes current, for the job
    assert await escalate_once(projected, datetime.now(UTC) + timedelta(days=60)) > 0
    await drain(projected, 1)  # the live path, one event at a time
    marked = await projected.pool.fetchval(
        f"SELECT count(*) FROM {projected.names.q('rm_inbox')} WHERE escalated"
    )
    assert marked > 0
    live = await dump(projected)
    await rebuild_many(projected, all_projections())
    assert await dump(projected) == live
