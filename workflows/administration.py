"""Use cases of the PMO's administration of governance: boards, envelopes, project roles,
hold and resume, re-baselines outside a change request. Each is one recorded event with
its actor (and reason, where the event has one); the domain checks the rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from uuid import UUID

from domain.board_sanity import require_passable_for_projects
from domain.checks import require_text
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Role
from domain.portfolio import Portfolio
from domain.project import Project
from domain.project_rules import TERMINAL
from eventstore.database import Store
from workflows.uow import CommandOptions, CommandResult, UnitOfWork, act_on, run_command

RoleAction = Literal["assign", "revoke"]


async def change_board(
    store: Store,
    *,
    portfolio_id: UUID,
    board: Board,
    reason: str,
    by: Actor,
    options: CommandOptions,
    project_ids: Sequence[UUID] = (),
) -> CommandResult:
    """New members and chair of a portfolio's board, with the reason; open reviews count
    the new board. ``project_ids``: the portfolio's projects (the caller finds them on the
    read side): the board must also reach the quorums of each live one's own template
    version where it differs from the portfolio's (kept, or migrated to)."""
    require_text(reason, "reason")

    async def use_case(uow: UnitOfWork) -> Portfolio:
        portfolio = await uow.get(Portfolio, portfolio_id)
        uow.expect(portfolio)
        others = []
        for project_id in project_ids:
            project = await uow.get(Project, project_id)
            if project.status not in TERMINAL and project.template != portfolio.template:
                others.append((project.name, project.template))
        require_passable_for_projects(board, others)
        portfolio.change_board(board, by, reason)
        return portfolio

    return await run_command(store, use_case, options)


async def change_envelope(
    store: Store,
    *,
    portfolio_id: UUID,
    envelope: Money,
    reason: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """A new budget envelope for a portfolio, with the reason."""

    def act(portfolio: Portfolio) -> None:
        portfolio.change_envelope(envelope, reason, by)

    return await act_on(store, Portfolio, portfolio_id, act, options)


async def change_project_role(
    store: Store,
    *,
    project_id: UUID,
    action: RoleAction,
    role: Role,
    person: str,
    reason: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """Assign (a new PM or sponsor replaces the old one) or revoke (stakeholders) a role,
    with the reason."""
    require_text(reason, "reason")

    def act(project: Project) -> None:
        if action == "assign":
            project.assign_role(person, role, by, reason)
        else:
            project.revoke_role(person, role, by, reason)

    return await act_on(store, Project, project_id, act, options)


async def hold_project(
    store: Store, *, project_id: UUID, reason: str, by: Actor, options: CommandOptions
) -> CommandResult:
    """Put a project on hold by the PMO's decision, outside a gate."""
    return await act_on(store, Project, project_id, lambda p: p.put_on_hold(reason, by), options)


async def resume_project(
    store: Store, *, project_id: UUID, reason: str, by: Actor, options: CommandOptions
) -> CommandResult:
    """Resume a project on hold (after a gate's HOLD or the PMO's)."""
    return await act_on(store, Project, project_id, lambda p: p.resume(reason, by), options)


async def rebaseline_project(
    store: Store,
    *,
    project_id: UUID,
    baseline: Baseline,
    reason: str,
    by: Actor,
    options: CommandOptions,
) -> CommandResult:
    """A new baseline set by the PMO outside a change request (``Project.Rebaselined``,
    told apart from a change request's ``Project.ChangeApplied``)."""

    def act(project: Project) -> None:
        project.rebaseline(baseline, reason, by)

    return await act_on(store, Project, project_id, act, options)
