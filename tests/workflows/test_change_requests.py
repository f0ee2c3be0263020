"""Change requests end to end: routing by cumulative tolerance, sponsor and board
decisions, re-baselining in the same transaction, withdrawal."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from domain.change_request import CRDecision, CRStatus, Route
from domain.errors import NotAllowed, RuleViolation
from domain.gate_review import Vote
from eventstore.database import Store
from tests.workflows.given import (
    CHAIR,
    END,
    GATEKEEPER,
    GATEKEEPER_2,
    NOW,
    OPTS,
    PM,
    SPONSOR,
    amend_unchanged,
    approved_by_sponsor,
    by,
    cr_of,
    decide_cr,
    eur,
    events_of,
    new_project,
    project_of,
    submitted_cr,
    vote_cr,
)
from workflows import change_requests as crs


async def test_a_cr_within_tolerance_is_decided_by_the_sponsor_and_rebaselines_the_project(
    store: Store,
) -> None:
    # Given a project (1000 EUR, +-10 %, +-20 days) and a CR of +50 EUR, +5 days
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "50", days=5)
    cr = await cr_of(store, cr_id)
    assert cr.route is Route.SPONSOR
    assert cr.due == NOW.date() + timedelta(days=project.template.cr_decision_days)
    # When the sponsor approves it
    await decide_cr(store, cr_id, by(SPONSOR))
    # Then the CR is approved and the project's baseline moved by its deltas
    assert (await cr_of(store, cr_id)).status is CRStatus.APPROVED
    project = await project_of(store, project.id)
    assert project.baseline.budget == eur("1050")
    assert project.baseline.end == END + timedelta(days=5)
    assert (project.approved_cost, project.approved_schedule_days) == (eur("50"), 5)
    assert project.applied_changes == (cr_id,)


async def test_within_tolerance_nobody_but_the_sponsor_decides(store: Store) -> None:
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "50")
    with pytest.raises(NotAllowed):
        await decide_cr(store, cr_id, by(CHAIR))
    assert (await cr_of(store, cr_id)).status is CRStatus.SUBMITTED


async def test_a_cr_beyond_tolerance_needs_the_quorum_and_the_sponsor_then_the_chair_approves(
    store: Store,
) -> None:
    # Given a CR of +300 EUR on a 1000 EUR budget with 10 % tolerance
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "300", days=30)
    assert (await cr_of(store, cr_id)).route is Route.BOARD
    # When two gatekeepers approve, the chair still cannot: the sponsor is mandatory
    await vote_cr(store, cr_id, by(GATEKEEPER))
    await vote_cr(store, cr_id, by(GATEKEEPER_2))
    with pytest.raises(RuleViolation, match=r"sponsor|sam"):
        await decide_cr(store, cr_id, by(CHAIR))
    # And the sponsor alone does not decide a CR escalated to the board
    await vote_cr(store, cr_id, by(SPONSOR))
    with pytest.raises(NotAllowed):
        await decide_cr(store, cr_id, by(SPONSOR))
    # Then with the quorum and the sponsor's approval, the chair approves
    await decide_cr(store, cr_id, by(CHAIR))
    cr = await cr_of(store, cr_id)
    assert cr.status is CRStatus.APPROVED
    assert cr.decision is not None
    assert {v.voter for v in cr.decision.votes} == {GATEKEEPER, GATEKEEPER_2, SPONSOR}
    project = await project_of(store, project.id)
    assert project.baseline.budget == eur("1300")
    assert project.baseline.end == END + timedelta(days=30)


async def test_the_tolerance_is_cumulative_so_a_small_cr_escalates_after_an_approved_one(
    store: Store,
) -> None:
    # Given an approved CR of +80 EUR (within the 100 EUR tolerance)
    project = await new_project(store)
    await approved_by_sponsor(store, project.id, "80")
    # When a CR of +30 EUR is submitted (30 alone is within, 80 + 30 is not)
    second = await submitted_cr(store, project.id, "30")
    # Then it goes to the board
    assert (await cr_of(store, second)).route is Route.BOARD


async def test_a_sponsor_routed_cr_is_not_approved_once_earlier_approvals_used_the_tolerance(
    store: Store,
) -> None:
    # Given two CRs each within tolerance, both submitted to the sponsor
    project = await new_project(store)
    first = await submitted_cr(store, project.id, "80")
    second = await submitted_cr(store, project.id, "30")
    await decide_cr(store, first, by(SPONSOR))
    # When the sponsor approves the second, which no longer fits the tolerance
    with pytest.raises(RuleViolation, match="beyond tolerance"):
        await decide_cr(store, second, by(SPONSOR))
    # Then amending it (even unchanged) routes it to the board
    await amend_unchanged(store, second)
    assert (await cr_of(store, second)).route is Route.BOARD


async def test_a_deferred_cr_beyond_the_used_tolerance_is_amended_and_goes_to_the_board(
    store: Store,
) -> None:
    # Given a sponsor-routed CR the sponsor deferred, then a CR approved meanwhile
    project = await new_project(store)
    deferred = await submitted_cr(store, project.id, "30")
    await decide_cr(store, deferred, by(SPONSOR), CRDecision.DEFER)
    await decide_cr(store, await submitted_cr(store, project.id, "80"), by(SPONSOR))
    with pytest.raises(RuleViolation, match="beyond tolerance"):
        await decide_cr(store, deferred, by(SPONSOR))
    # When its submitter amends it unchanged
    await amend_unchanged(store, deferred)
    # Then it is submitted again, to the board, without votes
    cr = await cr_of(store, deferred)
    assert (cr.status, cr.route, cr.votes) == (CRStatus.SUBMITTED, Route.BOARD, ())
    # and its deferral still counts: it is neither deferred twice nor withdrawn
    with pytest.raises(RuleViolation, match="already deferred once"):
        await decide_cr(store, deferred, by(CHAIR), CRDecision.DEFER)
    with pytest.raises(RuleViolation, match="withdraw after decision refused"):
        await crs.withdraw_change_request(
            store, change_request_id=deferred, reason="never mind", by=by(PM), options=OPTS
        )


async def test_a_rejection_leaves_the_baseline_alone(store: Store) -> None:
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "50")
    await decide_cr(store, cr_id, by(SPONSOR), CRDecision.REJECT)
    assert (await cr_of(store, cr_id)).status is CRStatus.REJECTED
    after = await project_of(store, project.id)
    assert (after.baseline, after.version) == (project.baseline, project.version)


async def test_amending_a_submitted_cr_resets_its_votes_and_reroutes_it(store: Store) -> None:
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "300")
    await vote_cr(store, cr_id, by(GATEKEEPER))
    await crs.amend_change_request(
        store,
        change_request_id=cr_id,
        title="Smaller change",
        description="Cut down",
        cost_delta=eur("40"),
        schedule_delta_days=0,
        scope="",
        risk="",
        by=by(PM),
        now=NOW + timedelta(days=2),
        options=OPTS,
    )
    cr = await cr_of(store, cr_id)
    assert (cr.route, cr.votes, cr.status) == (Route.SPONSOR, (), CRStatus.SUBMITTED)
    assert cr.due == (NOW + timedelta(days=2)).date() + timedelta(days=10)


async def test_withdraw_after_decision_is_refused(store: Store) -> None:
    # Given an approved CR
    project = await new_project(store)
    cr_id = await approved_by_sponsor(store, project.id, "50")
    # When its submitter withdraws it, then it is refused and nothing changes
    with pytest.raises(RuleViolation, match="withdraw after decision"):
        await crs.withdraw_change_request(
            store, change_request_id=cr_id, reason="changed my mind", by=by(PM), options=OPTS
        )
    assert (await cr_of(store, cr_id)).status is CRStatus.APPROVED


async def test_the_submitter_withdraws_before_the_decision(store: Store) -> None:
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "50")
    await crs.withdraw_change_request(
        store, change_request_id=cr_id, reason="no longer needed", by=by(PM), options=OPTS
    )
    assert (await cr_of(store, cr_id)).status is CRStatus.WITHDRAWN


async def test_only_the_pm_marks_an_approved_cr_implemented(store: Store) -> None:
    project = await new_project(store)
    cr_id = await approved_by_sponsor(store, project.id, "50")
    with pytest.raises(NotAllowed):
        await crs.implement_change_request(
            store, change_request_id=cr_id, by=by(SPONSOR), options=OPTS
        )
    await crs.implement_change_request(store, change_request_id=cr_id, by=by(PM), options=OPTS)
    assert (await cr_of(store, cr_id)).status is CRStatus.IMPLEMENTED


async def test_a_vote_by_someone_off_the_board_is_refused(store: Store) -> None:
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "300")
    with pytest.raises(NotAllowed):
        await vote_cr(store, cr_id, by("mallory"), Vote.APPROVE)
    assert await events_of(store, cr_id, "VoteCast") == []


async def test_a_crash_between_decision_and_rebaseline_is_impossible_by_construction(
    store: Store,
) -> None:
    """The approval and the project's re-baseline are ONE write.

    A trigger makes the database refuse any ``ChangeApplied`` row, so the project's
    re-baseline event cannot be written, like a crash or a lost connection at exactly
    that point. The CR's ``Decided`` row is inserted first in the same transaction
    (the unit of work saves the CR's events before the project's), yet it is rolled
    back with it: the CR is still SUBMITTED, the project's baseline unchanged, and no
    ``Decided`` event exists. With the trigger gone, the same command succeeds.
    """
    project = await new_project(store)
    cr_id = await submitted_cr(store, project.id, "50", days=5)
    events = store.names.q(store.names.events)
    refuse = store.names.q("refuse_change_applied")
    async with store.pool.acquire() as conn:
        await conn.execute(
            f"CREATE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'disk full while writing ChangeApplied'; END $$"
        )
        await conn.execute(
            f"CREATE TRIGGER refuse_change_applied BEFORE INSERT ON {events} FOR EACH ROW "
            f"WHEN (NEW.topic LIKE '%ChangeApplied') EXECUTE FUNCTION {refuse}()"
        )
    with pytest.raises(asyncpg.RaiseError, match="disk full"):
        await decide_cr(store, cr_id, by(SPONSOR))
    assert (await cr_of(store, cr_id)).status is CRStatus.SUBMITTED
    assert await events_of(store, cr_id, "Decided") == []
    unchanged = await project_of(store, project.id)
    assert (unchanged.baseline, unchanged.version) == (project.baseline, project.version)

    async with store.pool.acquire() as conn:
        await conn.execute(f"DROP TRIGGER refuse_change_applied ON {events}")
    await decide_cr(store, cr_id, by(SPONSOR))
    assert (await cr_of(store, cr_id)).status is CRStatus.APPROVED
    assert (await project_of(store, project.id)).baseline.budget == eur("1050")
