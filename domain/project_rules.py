"""The rules a project's commands check (``domain.project``), as plain functions.

Its status values and roles, who votes on and decides a gate, what a decision needs,
who closes a condition, and what an approved change does to the baseline. Pure
functions over values: no aggregate, no I/O, no clock. The Project's commands call
them, then record their event; an event body never calls a check, so events recorded
before a rule existed replay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from domain.bounds import require_amount
from domain.checks import require_days, require_person, require_text
from domain.errors import InvalidValue, NotAllowed, NotFound, RuleViolation
from domain.gate_review import Condition, Decision, VoteRecord, approval_shortfall, resolve_voters
from domain.money import Money, require_money_in
from domain.policy import (
    Actor,
    Baseline,
    Board,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    Role,
    Tolerances,
)
from domain.seats import Seats, board_seats, condition_item, gate_holders, owed_conditions


class ProjectStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TERMINAL = (ProjectStatus.CLOSED, ProjectStatus.CANCELLED)
REVIEWABLE = (ProjectStatus.PROPOSED, ProjectStatus.ACTIVE, ProjectStatus.ON_HOLD)
HOLDABLE = (ProjectStatus.PROPOSED, ProjectStatus.ACTIVE)

INITIAL_STAGE = "Proposal"
CLOSED_STAGE = "Closed"  # what closed a project in events without ``closes``

PROJECT_ROLES = (Role.PM, Role.SPONSOR, Role.STAKEHOLDER)
SINGLE_HOLDER_ROLES = (Role.PM, Role.SPONSOR)


# --- a new project -------------------------------------------------------------------


def check_new_project(
    name: str,
    pm: str,
    sponsor: str,
    baseline: Baseline,
    tolerances: Tolerances,
    template: GovernanceTemplate,
    by: Actor,
    portfolio_currency: str,
) -> None:
    """A name, a PM and a sponsor who are two people (its creator never the sponsor), a
    baseline whose budget is in the portfolio's one currency, tolerances, a template."""
    require_text(name, "project name")
    require_person(pm, "project manager")
    require_person(sponsor, "sponsor")
    if pm == sponsor:
        raise InvalidValue("the PM and the sponsor must be different people")
    if by.involves_any((sponsor,)):
        raise InvalidValue("sponsor: who creates a project cannot be its sponsor")
    if not isinstance(baseline, Baseline) or not isinstance(tolerances, Tolerances):
        raise InvalidValue("a project needs a Baseline and Tolerances")
    if not isinstance(template, GovernanceTemplate):
        raise InvalidValue("a project needs a GovernanceTemplate")
    require_money_in(baseline.budget, "baseline.budget", portfolio_currency)


# --- roles ---------------------------------------------------------------------------


def roles_of(person: str, pm: str, sponsor: str, stakeholders: tuple[str, ...]) -> frozenset[Role]:
    roles = set()
    if person == pm:
        roles.add(Role.PM)
    if person == sponsor:
        roles.add(Role.SPONSOR)
    if person in stakeholders:
        roles.add(Role.STAKEHOLDER)
    return frozenset(roles)


def role_holders(
    pm: str, sponsor: str, stakeholders: tuple[str, ...], board: Board | None = None
) -> dict[str, tuple[str, ...]]:
    """Role name -> people, to resolve a policy's mandatory voters ("sponsor") and a
    required signer's role; the board's roles (chair, gatekeeper) when it is given."""
    members, chair = (board.members, board.chair) if board is not None else ((), None)
    holders = gate_holders(pm, sponsor, stakeholders, members, chair)
    if board is None:
        del holders[Role.CHAIR.value], holders[Role.GATEKEEPER.value]
    return holders


def project_role(role: Role | str) -> Role:
    """``role`` as a Role a project has (pm, sponsor, stakeholder), else InvalidValue."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidValue(f"unknown role {role!r}") from exc
    if role not in PROJECT_ROLES:
        raise InvalidValue(f"{role.value} is not a project role (pm, sponsor, stakeholder)")
    return role


def check_role_assignment(
    person: str, role: Role, held: frozenset[Role], pm: str, sponsor: str, by: Actor
) -> None:
    """``person`` (holding ``held``) may be given ``role``: not twice, the PM never the
    sponsor too, and nobody makes themselves the sponsor."""
    if role in held:
        raise RuleViolation(f"{person} already holds the {role.value} role")
    other = {Role.PM: sponsor, Role.SPONSOR: pm}.get(role)
    if person == other:
        raise RuleViolation("the PM and the sponsor must be different people")
    if role is Role.SPONSOR and by.involves_any((person,)):
        raise InvalidValue("sponsor: nobody makes themselves the sponsor (who decides)")


def check_role_revocation(person: str, role: Role, held: frozenset[Role]) -> None:
    """Only a role held is revoked, and a PM or sponsor only by assigning a successor."""
    if role not in held:
        raise RuleViolation(f"{person} does not hold the {role.value} role")
    if role in SINGLE_HOLDER_ROLES:
        raise RuleViolation(f"the {role.value} role is replaced by assigning a successor")


# --- gate reviews --------------------------------------------------------------------


def check_required_signoffs(definition: GateDefinition, completed: frozenset[str]) -> None:
    """A review is requested only when every sign-off the gate requires is complete."""
    missing = [
        s.deliverable for s in definition.required_signoffs if s.deliverable not in completed
    ]
    if missing:
        raise RuleViolation(f"required sign-offs are incomplete: {', '.join(missing)}")


def gate_seats(
    policy: DecisionPolicy,
    board: Board,
    holders: Mapping[str, tuple[str, ...]],
    barred: Iterable[str] = (),
) -> Seats:
    """Who votes on and decides a gate (``domain.seats``, the rule the inbox uses too)."""
    return board_seats(
        board.members,
        board.chair,
        policy.mandatory_voters,
        policy.chair_must_confirm,
        holders,
        barred,
    )


def gate_voters(
    policy: DecisionPolicy, board: Board, holders: Mapping[str, tuple[str, ...]]
) -> set[str]:
    """Who votes on a gate: the board's members and the policy's mandatory voters (role
    names resolved against ``holders``)."""
    return set(gate_seats(policy, board, holders).voters)


def check_decider(by: Actor, policy: DecisionPolicy, board: Board, gate: str) -> None:
    """The chair decides, or any board member where the policy needs no chair."""
    if by.acting_as not in gate_seats(policy, board, {}).deciders:
        who = "the board chair" if policy.chair_must_confirm else "a board member"
        raise NotAllowed(f"only {who} may decide gate {gate}")


def check_approvals(
    decision: Decision,
    policy: DecisionPolicy,
    votes: Iterable[VoteRecord],
    holders: Mapping[str, tuple[str, ...]],
    voters: set[str],
    barred: Iterable[str],
) -> None:
    """A GO or CONDITIONAL_GO needs the quorum and every mandatory voter's approval,
    counting only votes of ``voters`` in which no ``barred`` person had a hand."""
    mandatory = resolve_voters(policy.mandatory_voters, holders)
    missing = approval_shortfall(policy, votes, mandatory, voters, barred)
    if missing:
        raise RuleViolation(f"{decision.value} is not possible: {'; '.join(missing)}")


def closes_project(template: GovernanceTemplate, gate: str, decision: Decision) -> bool:
    """Passing the template's last gate closes the project, whatever its stage's name.
    ``GateDecided`` records the answer, so replay never depends on how this rule read
    when the decision was taken."""
    return decision.advances and template.index_of(gate) == len(template.gates) - 1


# --- conditions ----------------------------------------------------------------------


def check_condition_closing(
    conditions: Iterable[Condition], condition_id: UUID, pm: str, note: str, by: Actor
) -> None:
    """An open condition of this project, closed by its owner or the PM, with a note."""
    condition = next((c for c in conditions if c.id == condition_id), None)
    if condition is None:
        raise NotFound(f"condition {condition_id} does not exist on this project")
    if by.acting_as not in (condition.owner, pm):
        raise NotAllowed("only the condition's owner or the PM may close it")
    if condition.closed:
        raise RuleViolation(f"condition {condition_id} is already closed")
    require_text(note, "closing note")


def with_condition_closed(
    conditions: tuple[Condition, ...], condition_id: UUID, note: str, by: Actor, at: datetime
) -> tuple[Condition, ...]:
    return tuple(
        Condition(c.id, c.gate, c.description, c.owner, c.due, True, by, note, at)
        if c.id == condition_id
        else c
        for c in conditions
    )


# --- the baseline --------------------------------------------------------------------


def check_rebaseline(current: Baseline, baseline: Baseline) -> None:
    if not isinstance(baseline, Baseline):
        raise InvalidValue("baseline must be a Baseline")
    if baseline.budget.currency != current.budget.currency:
        raise InvalidValue("a re-baseline keeps the budget currency")


def changed_baseline(baseline: Baseline, cost_delta: Money, schedule_delta_days: int) -> Baseline:
    """The baseline after an approved change: the budget moves by ``cost_delta`` (Money in
    the budget's currency, never below zero) and the end date by ``schedule_delta_days``."""
    currency = baseline.budget.currency
    if not isinstance(cost_delta, Money) or cost_delta.currency != currency:
        raise InvalidValue(f"the cost delta must be Money in {currency}")
    days = require_days(schedule_delta_days, "the schedule delta")
    budget = baseline.budget.amount + cost_delta.amount
    if budget < 0:
        raise InvalidValue("the change would make the budget negative")
    require_amount(budget, "the budget after the change")
    return Baseline(
        baseline.budget + cost_delta,
        baseline.start,
        baseline.end + timedelta(days=days),
        baseline.scope,
    )


def check_condition_escalation(item: str, ended: bool, conditions: Iterable[Condition]) -> None:
    """A condition is escalated only while its owner still owes it (``domain.seats``)."""
    if not item.startswith("condition:"):
        return
    rows = ((str(c.id), c.owner, c.due, not c.is_open) for c in conditions)
    owed = {condition_item(cid, owner) for cid, owner, _ in owed_conditions(ended, rows)}
    if item not in owed:
        raise RuleViolation(f"{item} is not an open condition of this project")
