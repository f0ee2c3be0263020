"""A log holding at least one event of every stored type (``domain.stored_names.EVENTS``),
written by the use cases a server runs, so that live-versus-rebuild comparisons see
every way a read model can change (issue 11: HOLD, RECYCLE, cancel, assess, withdraw,
implement, decline and revoke were missing from the earlier logs).

Commands with no workflow yet (board and role changes, hold and resume, re-baselines)
load the aggregate and call its domain method inside ``run_command``, as a workflow
would. The governance rules hold throughout: ``admin`` creates and administers and never
votes or decides; the PM requests and submits and never votes or decides; the board
(carol chairs, dave, erin, and frank from the board change) votes and decides; the
sponsor decides change requests within tolerance and signs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.change_request import CRDecision
from domain.gate_review import Decision, Evidence, Vote
from domain.policy import Baseline, Board, Role, default_template
from domain.portfolio import Portfolio
from domain.project import Project
from eventstore.database import Store
from tests.workflows import given
from tests.workflows.given import CHAIR, GATEKEEPER, GATEKEEPER_2, OPTS, PM, SPONSOR, by
from workflows import change_requests as crs
from workflows import delegations, gates, portfolios, signoffs, templates
from workflows.escalation import KINDS, SCHEDULER, OverdueItem, escalate_overdue
from workflows.templates import TemplateRef
from workflows.uow import UnitOfWork, run_command

ADMIN = by("admin")
FRANK = "frank"  # joins the board when it changes
STAN = "stan"  # a stakeholder and signatory
BOARD_AFTER = Board((CHAIR, GATEKEEPER, GATEKEEPER_2, FRANK), CHAIR)
LAST_BOARD = Board((CHAIR, GATEKEEPER, FRANK, "gina"), CHAIR)
# Past every due date the log sets (gate votes are due ten days after today, change
# requests and sign-offs some days after given.NOW in 2027).
ESCALATION_TIME = datetime(2999, 1, 1, tzinfo=UTC)


async def every_event_log(store: Store) -> None:
    """Write the log; every type of ``EVENTS`` appears at least once."""
    first = await given.new_project(store)  # Portfolio.Created, Project.Created
    portfolio_id = first.portfolio_id
    await _portfolio_board_and_roles(store, portfolio_id)
    await _project_roles(store, first.id)
    await _conditional_go(store, first.id)
    overdue = await _change_requests(store, first.id)
    overdue += await _signoffs(store, first.id)
    await _act(
        store,
        Project,
        first.id,
        lambda p: p.rebaseline(
            Baseline(given.eur("2000"), given.START, date(2027, 9, 1), "scope and more"),
            "the board widened the scope",
            ADMIN,
        ),
    )

    await given.pass_gate(store, await _project(store, portfolio_id, "Go"))  # GO
    await _held_and_resumed(store, await _project(store, portfolio_id, "Held"))
    overdue += await _recycled(store, await _project(store, portfolio_id, "Recycled"))
    killed = await _project(store, portfolio_id, "Killed")
    await _review(store, killed)
    await _decide(store, killed, Decision.KILL)
    cancelled = await _project(store, portfolio_id, "Cancelled")
    await _review(store, cancelled)  # cancelling closes the open review
    await portfolios.cancel_project(
        store, project_id=cancelled, reason="no longer needed", by=ADMIN, options=OPTS
    )

    revoked = await given.delegate(store, CHAIR, "oscar")
    await delegations.revoke_delegation(
        store, delegation_id=revoked, reason="back early", by=by(CHAIR), options=OPTS
    )

    await _templates(store, portfolio_id)

    await _legacy_escalations(store, overdue)
    written = await escalate_overdue(store, overdue, clock=lambda: ESCALATION_TIME)
    assert written == len(overdue), (written, overdue)

    # Last, so that no later event of the subjects they reach hides a read model that
    # misses them: a new board member owes the open review's and change request's votes
    # (erin's escalated ones go), a new sponsor the change requests' decisions and votes.
    await _act(store, Portfolio, portfolio_id, lambda p: p.change_board(LAST_BOARD, ADMIN))
    await _act(store, Project, first.id, lambda p: p.assign_role("sally", Role.SPONSOR, ADMIN))


async def _templates(store: Store, portfolio_id: UUID) -> None:
    """The library (a template and a second version), the portfolio switched to that
    version for new projects, and an older project migrated to it."""
    await templates.create_template(
        store, name="Lean", template=default_template(), reason="ours", by=ADMIN, options=OPTS
    )
    gates = default_template().gates
    quicker = (replace(gates[0], vote_due_days=5), *gates[1:])
    await templates.publish_version(
        store,
        name="Lean",
        template=replace(default_template(), gates=quicker),
        reason="quicker votes",
        by=ADMIN,
        options=OPTS,
    )
    older = await _project(store, portfolio_id, "Migrated")
    v2 = TemplateRef("Lean", 2)
    await templates.change_portfolio_template(
        store, portfolio_id=portfolio_id, ref=v2, reason="quicker", by=ADMIN, options=OPTS
    )
    await _project(store, portfolio_id, "On Lean v2")
    await templates.migrate_project(
        store, project_id=older, ref=v2, reason="quicker too", by=ADMIN, options=OPTS
    )
    await _review(store, older)  # its votes are due five days after the request


async def _legacy_escalations(store: Store, overdue: list[OverdueItem]) -> None:
    """One ``Escalated`` per kind as recorded before escalations named their recipient
    (the job now records ``EscalatedTo``), a day earlier than the job's deadline."""
    firsts = {item.kind: item for item in reversed(overdue)}
    for item in firsts.values():

        def legacy(aggregate: Any, i: OverdueItem = item) -> None:
            aggregate.escalate(i.item, i.due - timedelta(days=1), SCHEDULER)

        await _act(store, KINDS[item.kind], item.aggregate_id, legacy)


async def _act(
    store: Store, kind: type[Any], aggregate_id: UUID, act: Callable[[Any], Any]
) -> None:
    """A command without a workflow of its own: load, act, save in one unit of work."""

    async def use_case(uow: UnitOfWork) -> Any:
        found = await uow.get(kind, aggregate_id)
        act(found)
        return found

    await run_command(store, use_case, OPTS)


async def _project(store: Store, portfolio_id: UUID, name: str) -> UUID:
    created = await portfolios.create_project(
        store,
        portfolio_id=portfolio_id,
        name=name,
        pm=PM,
        sponsor=SPONSOR,
        baseline=Baseline(given.eur("1000"), given.START, given.END, "scope"),
        tolerances=given.TOLERANCES,
        by=ADMIN,
        options=OPTS,
    )
    return created.id


async def _portfolio_board_and_roles(store: Store, portfolio_id: UUID) -> None:
    await _act(store, Portfolio, portfolio_id, lambda p: p.change_board(BOARD_AFTER, ADMIN))
    await _act(
        store, Portfolio, portfolio_id, lambda p: p.assign_role(STAN, Role.STAKEHOLDER, ADMIN)
    )
    await _act(store, Portfolio, portfolio_id, lambda p: p.assign_role("ada", Role.AUDITOR, ADMIN))
    await _act(store, Portfolio, portfolio_id, lambda p: p.revoke_role("ada", Role.AUDITOR, ADMIN))
    await _act(
        store,
        Portfolio,
        portfolio_id,
        lambda p: p.change_envelope(given.eur("2000000"), "a second wave", ADMIN),
    )


async def _project_roles(store: Store, project_id: UUID) -> None:
    await _act(store, Project, project_id, lambda p: p.assign_role(STAN, Role.STAKEHOLDER, ADMIN))
    await _act(store, Project, project_id, lambda p: p.assign_role("tess", Role.STAKEHOLDER, ADMIN))
    await _act(store, Project, project_id, lambda p: p.revoke_role("tess", Role.STAKEHOLDER, ADMIN))


async def _review(store: Store, project_id: UUID) -> None:
    await gates.request_review(
        store,
        project_id=project_id,
        gate="G0",
        evidence=[Evidence("Mandate")],
        by=by(PM),
        options=OPTS,
    )


async def _vote(store: Store, project_id: UUID, voter: str, vote: Vote = Vote.APPROVE) -> None:
    await gates.cast_vote(
        store,
        project_id=project_id,
        gate="G0",
        vote=vote,
        rationale="r",
        by=by(voter),
        options=OPTS,
    )


async def _decide(
    store: Store,
    project_id: UUID,
    decision: Decision,
    conditions: list[tuple[str, str, object]] | None = None,
) -> list[str]:
    decided = await gates.decide_gate(
        store,
        project_id=project_id,
        gate="G0",
        decision=decision,
        rationale=f"{decision.value} it is",
        conditions=conditions or [],
        by=by(CHAIR),
        options=OPTS,
    )
    return list(decided.details.get("condition_ids", []))


async def _conditional_go(store: Store, project_id: UUID) -> None:
    """Evidence amended, a vote changed, a conditional go, its condition closed."""
    await _review(store, project_id)
    await gates.amend_evidence(
        store,
        project_id=project_id,
        gate="G0",
        evidence=[Evidence("Mandate v2")],
        by=by(PM),
        options=OPTS,
    )
    await _vote(store, project_id, GATEKEEPER, Vote.REJECT)
    await _vote(store, project_id, GATEKEEPER)  # changed
    await _vote(store, project_id, FRANK)
    (condition,) = await _decide(
        store, project_id, Decision.CONDITIONAL_GO, [("DPIA", PM, date(2027, 3, 1))]
    )
    await gates.close_condition(
        store,
        project_id=project_id,
        condition_id=UUID(condition),
        note="done",
        by=by(PM),
        options=OPTS,
    )


async def _change_requests(store: Store, project_id: UUID) -> list[OverdueItem]:
    """Tolerance is +-100 EUR and +-20 days: 50 and then 20 stay with the sponsor."""
    # Amended as a draft, assessed, approved by the sponsor (the project re-baselined),
    # implemented by the PM.
    approved = await given.drafted_cr(store, project_id, "40")
    cr = await given.cr_of(store, approved)
    await crs.amend_change_request(
        store,
        change_request_id=approved,
        title=cr.title,
        description=cr.description,
        cost_delta=given.eur("50"),
        schedule_delta_days=0,
        scope=cr.scope,
        risk=cr.risk,
        by=by(PM),
        now=given.NOW,
        options=OPTS,
    )
    await crs.submit_change_request(
        store, change_request_id=approved, by=by(PM), now=given.NOW, options=OPTS
    )
    await crs.assess_change_request(
        store, change_request_id=approved, assessment="affordable", by=by(STAN), options=OPTS
    )
    await given.decide_cr(store, approved, by(SPONSOR))
    await crs.implement_change_request(store, change_request_id=approved, by=by(PM), options=OPTS)
    # Beyond tolerance: the board votes (one vote changed) and the chair rejects.
    rejected = await given.submitted_cr(store, project_id, "500", 10)
    await given.vote_cr(store, rejected, by(GATEKEEPER))
    await given.vote_cr(store, rejected, by(GATEKEEPER), Vote.REJECT)
    await given.vote_cr(store, rejected, by(GATEKEEPER_2), Vote.REJECT)
    await given.decide_cr(store, rejected, by(CHAIR), CRDecision.REJECT)
    # Deferred by the sponsor, amended (so submitted again), then left overdue.
    deferred = await given.submitted_cr(store, project_id, "20")
    await given.decide_cr(store, deferred, by(SPONSOR), CRDecision.DEFER)
    await given.amend_unchanged(store, deferred)
    # Withdrawn by its submitter.
    withdrawn = await given.submitted_cr(store, project_id, "10")
    await crs.withdraw_change_request(
        store, change_request_id=withdrawn, reason="not needed", by=by(PM), options=OPTS
    )
    # Beyond tolerance, one vote in, left overdue.
    pending = await given.submitted_cr(store, project_id, "900")
    await given.vote_cr(store, pending, by(GATEKEEPER))
    deferred_due = (await given.cr_of(store, deferred)).due
    pending_due = (await given.cr_of(store, pending)).due
    assert deferred_due is not None and pending_due is not None
    return [
        OverdueItem(deferred, "change_request", f"cr_decision:{SPONSOR}", deferred_due),
        OverdueItem(pending, "change_request", f"cr_vote:{GATEKEEPER_2}", pending_due),
        OverdueItem(pending, "change_request", f"cr_decision:{CHAIR}", pending_due),
    ]


async def _signoffs(store: Store, project_id: UUID) -> list[OverdueItem]:
    """Superseded, then completed; declined; left open and overdue."""
    await given.request_signoff(store, project_id, "Design", "1", [SPONSOR, STAN])
    design = await given.request_signoff(store, project_id, "Design", "2", [SPONSOR, STAN])
    for signer in (SPONSOR, STAN):
        await signoffs.sign_signoff(
            store, signoff_id=design, comment="", by=by(signer), options=OPTS
        )
    plan = await given.request_signoff(store, project_id, "Plan", "1", [SPONSOR])
    await signoffs.decline_signoff(
        store, signoff_id=plan, comment="not yet", by=by(SPONSOR), options=OPTS
    )
    charter = await given.request_signoff(store, project_id, "Charter", "1", [STAN])
    due = (await given.signoff_of(store, charter)).due
    return [OverdueItem(charter, "signoff", f"signoff:{STAN}", due)]


async def _held_and_resumed(store: Store, project_id: UUID) -> None:
    """Held by the chair's decision, resumed; put on hold by the PMO, resumed."""
    await _review(store, project_id)
    await _vote(store, project_id, GATEKEEPER)
    await _decide(store, project_id, Decision.HOLD)
    await _act(store, Project, project_id, lambda p: p.resume("funding found", ADMIN))
    await _act(store, Project, project_id, lambda p: p.put_on_hold("audit", ADMIN))
    await _act(store, Project, project_id, lambda p: p.resume("audit done", ADMIN))


async def _recycled(store: Store, project_id: UUID) -> list[OverdueItem]:
    """Recycled, reviewed again, a vote cast by a delegate (olga for erin), then left
    overdue."""
    await _review(store, project_id)
    await _vote(store, project_id, GATEKEEPER, Vote.REJECT)
    await _decide(store, project_id, Decision.RECYCLE)
    await _review(store, project_id)
    await _vote(store, project_id, GATEKEEPER)
    await given.delegate(store, GATEKEEPER_2, "olga", project_id=project_id)
    await gates.cast_vote(
        store,
        project_id=project_id,
        gate="G0",
        vote=Vote.APPROVE,
        rationale="for erin",
        by=by("olga", GATEKEEPER_2),
        options=OPTS,
        now=given.NOW,
    )
    review = (await given.project_of(store, project_id)).review
    assert review is not None and review.due < ESCALATION_TIME.date() - timedelta(days=1)
    return [
        OverdueItem(project_id, "project", f"vote:{FRANK}", review.due),
        OverdueItem(project_id, "project", f"decision:{CHAIR}", review.due),
    ]
