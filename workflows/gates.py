"""Use cases of a gate review: request, amend evidence, vote, decide, close conditions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

from domain.errors import DomainError
from domain.gate_review import ConditionSpec, Decision, Evidence, Vote
from domain.policy import Actor
from domain.portfolio import Portfolio
from domain.project import Project
from domain.signoff import SignOff
from eventstore.database import Store
from workflows.authority import authorise
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, run_command


async def _project(uow: UnitOfWork, project_id: UUID) -> Project:
    project = await uow.get(Project, project_id)
    uow.expect(project)
    return project


async def _project_and_portfolio(uow: UnitOfWork, project_id: UUID) -> tuple[Project, Portfolio]:
    """The project (If-Match checked) and its portfolio, read in one round trip when
    this process has both cached (the cached project names its portfolio)."""
    portfolio_id = getattr(uow.cached(project_id), "portfolio_id", None)
    if isinstance(portfolio_id, UUID):
        await uow.prefetch(project_id, portfolio_id)
    project = await _project(uow, project_id)
    return project, await uow.get(Portfolio, project.portfolio_id)


async def _signed_hashes(uow: UnitOfWork, project: Project, gate: str) -> dict[str, str]:
    """The content hash each completed required deliverable of ``gate`` was signed off
    with (read from its sign-off); an unknown gate is the project's to refuse."""
    try:
        signed = project.signed_deliverables(gate)
    except DomainError:
        return {}
    return {d: (await uow.get(SignOff, i)).content_hash for d, i in signed.items()}


async def request_review(
    store: Store,
    *,
    project_id: UUID,
    gate: str,
    evidence: Sequence[Evidence],
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """The PM asks the board to review the next gate, with evidence; refused while the
    gate's required sign-offs are incomplete."""

    async def use_case(uow: UnitOfWork) -> Project:
        project = await _project(uow, project_id)
        done = project.completed_deliverables(gate)
        signed = await _signed_hashes(uow, project, gate)
        project.request_review(
            gate, tuple(evidence), by, completed_signoffs=done, signed_hashes=signed
        )
        return project

    return await run_command(store, use_case, options)


async def amend_evidence(
    store: Store,
    *,
    project_id: UUID,
    gate: str,
    evidence: Sequence[Evidence],
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """The PM amends the evidence of an open review; earlier votes are asked for again."""

    async def use_case(uow: UnitOfWork) -> Project:
        project = await _project(uow, project_id)
        signed = await _signed_hashes(uow, project, gate)
        project.amend_evidence(gate, tuple(evidence), by, signed_hashes=signed)
        return project

    return await run_command(store, use_case, options)


async def cast_vote(
    store: Store,
    *,
    project_id: UUID,
    gate: str,
    vote: Vote,
    rationale: str,
    by: Actor,
    options: CommandOptions,
    now: datetime | None = None,
) -> CommandResult:
    """A gatekeeper (or mandatory voter) votes on an open review, or changes their vote.

    A delegate votes only under a delegation active at ``now`` (default: the current UTC
    time, kept for callers written before delegations existed)."""
    at = now or datetime.now(UTC)

    async def use_case(uow: UnitOfWork) -> Project:
        project, portfolio = await _project_and_portfolio(uow, project_id)
        await authorise(uow, by, at, portfolio_id=portfolio.id, project_id=project.id)
        project.cast_vote(gate, vote, rationale, by, portfolio.board, portfolio.configured_by)
        return project

    return await run_command(store, use_case, options)


async def decide_gate(
    store: Store,
    *,
    project_id: UUID,
    gate: str,
    decision: Decision,
    rationale: str,
    conditions: Sequence[tuple[str, str, object]] = (),
    seen_position: int | None = None,
    by: Actor,
    options: CommandOptions,
    now: datetime | None = None,
) -> CommandResult:
    """The chair decides the gate; conditions are (description, owner, due date).

    A delegate decides only under a delegation active at ``now`` (default: the current
    UTC time, kept for callers written before delegations existed)."""
    specs = tuple(ConditionSpec(uuid4(), d, o, due) for d, o, due in conditions)  # type: ignore[arg-type]
    at = now or datetime.now(UTC)

    async def use_case(uow: UnitOfWork) -> tuple[Project, dict[str, object]]:
        project, portfolio = await _project_and_portfolio(uow, project_id)
        await authorise(uow, by, at, portfolio_id=portfolio.id, project_id=project.id)
        board, barred = portfolio.board, portfolio.configured_by
        head = await store.events.max_notification_id() or 0  # none given: what was there
        requested = await _review_requested_at(store, project_id)
        project.decide(
            gate,
            decision,
            rationale,
            by,
            board,
            specs,
            seen_position,
            barred,
            log_head=head,
            requested_at=requested,
        )
        return project, {"condition_ids": [str(s.id) for s in specs]}

    return await run_command(store, use_case, options)


async def _review_requested_at(store: Store, project_id: UUID) -> int | None:
    """The position of the project's latest review request (the open review's), if any."""
    notes = await store.events.select_originator_notifications(project_id)
    names = store.mapper.names
    requests = [n.id for n in notes if names.canonical(n.topic) == "Project.ReviewRequested"]
    return requests[-1] if requests else None


async def close_condition(
    store: Store,
    *,
    project_id: UUID,
    condition_id: UUID,
    note: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """The owner of a condition of a CONDITIONAL_GO closes it."""

    async def use_case(uow: UnitOfWork) -> Project:
        project = await _project(uow, project_id)
        project.close_condition(condition_id, note, by)
        return project

    return await run_command(store, use_case, options)
