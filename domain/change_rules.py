"""Change request values and the pure rules: impact, routing by tolerance, voters, deciders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from domain.bounds import MAX_INT, require_date, require_whole
from domain.checks import require_days, require_note, require_text
from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import VoteRecord, approval_shortfall, resolve_voters
from domain.money import Money
from domain.policy import Actor, Board, DecisionPolicy, Tolerances
from domain.seats import Seats, change_request_holders, change_request_seats


class Route(StrEnum):
    SPONSOR = "sponsor"
    BOARD = "board"


class CRStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ASSESSED = "assessed"
    APPROVED = "approved"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    WITHDRAWN = "withdrawn"
    IMPLEMENTED = "implemented"


class CRDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"


@dataclass(frozen=True)
class CRDecisionRecord:
    decision: CRDecision
    rationale: str
    decided_by: Actor
    route: Route
    votes: tuple[VoteRecord, ...]
    timestamp: datetime


BEFORE_DECISION = (CRStatus.DRAFT, CRStatus.SUBMITTED, CRStatus.ASSESSED)
DECIDABLE = (CRStatus.SUBMITTED, CRStatus.ASSESSED, CRStatus.DEFERRED)
# Amending a submitted, assessed or deferred CR routes it again and drops its votes.
AMENDABLE = (*BEFORE_DECISION, CRStatus.DEFERRED)
OUTCOME = {
    CRDecision.APPROVE: CRStatus.APPROVED,
    CRDecision.REJECT: CRStatus.REJECTED,
    CRDecision.DEFER: CRStatus.DEFERRED,
}


@dataclass(frozen=True)
class Impact:
    """What a CR asks for: text, cost delta (money), schedule delta (days), scope, risk."""

    title: str
    description: str
    cost_delta: Money
    schedule_delta_days: int
    scope: str
    risk: str

    def __post_init__(self) -> None:
        require_text(self.title, "change request title")
        require_text(self.description, "change request description")
        if not isinstance(self.cost_delta, Money):
            raise InvalidValue("the cost delta must be Money")
        require_days(self.schedule_delta_days, "the schedule delta")
        if not isinstance(self.scope, str) or not isinstance(self.risk, str):
            raise InvalidValue("scope and risk notes must be text (empty is allowed)")
        require_note(self.scope, "scope")
        require_note(self.risk, "risk")


def route_for(
    original_budget: Money,
    tolerances: Tolerances,
    approved_cost: Money,
    approved_schedule_days: int,
    cost_delta: Money,
    schedule_delta_days: int,
) -> Route:
    """SPONSOR while the cumulative approved deltas plus this one stay within tolerance,
    else BOARD.

    Deviations are measured in absolute value: a saving (or an earlier finish) beyond
    tolerance is an exception too, because the plan the board approved no longer holds.
    The cost tolerance is a percentage of the ORIGINAL budget, so re-baselining through
    CRs never widens it.
    """
    currencies = {original_budget.currency, approved_cost.currency, cost_delta.currency}
    if len(currencies) != 1:
        raise InvalidValue(f"currency mismatch: {', '.join(sorted(currencies))}")
    # Amounts, not Money: the sum may exceed what one amount can hold, and routes to the board.
    cost = approved_cost.amount + cost_delta.amount
    approved = require_whole(approved_schedule_days, "approved schedule days", -MAX_INT, MAX_INT)
    days = approved + require_days(schedule_delta_days, "the schedule delta")
    within = abs(cost) <= cost_limit(original_budget, tolerances)
    return Route.SPONSOR if within and abs(days) <= tolerances.schedule_days else Route.BOARD


def cost_limit(original_budget: Money, tolerances: Tolerances) -> Decimal:
    """The most the cumulative approved cost deltas may deviate (either way) before a
    change request goes to the board: the cost tolerance of the ORIGINAL budget."""
    return original_budget.amount * tolerances.cost_pct / 100


def tolerance_left(
    original_budget: Money, tolerances: Tolerances, approved_cost: Decimal, approved_days: int
) -> tuple[Decimal, int]:
    """How much more cost (to the cent, rounded down) and how many more days the
    cumulative approved deltas may deviate before ``route_for`` sends a change request to
    the board; negative once approved changes went beyond tolerance."""
    left = cost_limit(original_budget, tolerances) - abs(approved_cost)
    cost = left.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return cost, tolerances.schedule_days - abs(approved_days)


def cr_seats(
    route: Route | None,
    board: Board,
    sponsor: str,
    policy: DecisionPolicy,
    barred: Iterable[str] = (),
) -> Seats:
    """Who votes on and decides a change request (``domain.seats``, the rule the inbox
    uses too): the sponsor alone within tolerance, the board beyond it."""
    return change_request_seats(
        None if route is None else route.value,
        sponsor,
        board.members,
        board.chair,
        policy.mandatory_voters,
        policy.chair_must_confirm,
        barred,
    )


def cr_voters(board: Board, sponsor: str, policy: DecisionPolicy) -> set[str]:
    """Board members plus the policy's mandatory voters ("sponsor" resolved to ``sponsor``)."""
    return set(cr_seats(Route.BOARD, board, sponsor, policy).voters)


def cr_mandatory_voters(board: Board, sponsor: str, policy: DecisionPolicy) -> set[str]:
    holders = change_request_holders(sponsor, board.members, board.chair)
    return resolve_voters(policy.mandatory_voters, holders)


def require_cr_decider(
    route: Route | None, by: Actor, board: Board, sponsor: str, policy: DecisionPolicy
) -> None:
    """Within tolerance the sponsor decides alone; beyond it the chair (or, when the policy
    does not require the chair to confirm, any board member)."""
    if by.acting_as in cr_seats(route, board, sponsor, policy).deciders:
        return
    if route is Route.SPONSOR:
        raise NotAllowed("within tolerance only the sponsor decides a change request")
    who = "the board chair" if policy.chair_must_confirm else "a board member"
    raise NotAllowed(f"beyond tolerance only {who} decides a change request")


def require_board_approval(
    votes: tuple[VoteRecord, ...],
    board: Board,
    sponsor: str,
    policy: DecisionPolicy,
    barred: tuple[str, ...] = (),
) -> None:
    """Like a gate GO: the quorum of approvals (counting people) and every mandatory
    voter's approval; votes involving a ``barred`` person count for nothing."""
    mandatory = cr_mandatory_voters(board, sponsor, policy)
    voters = cr_voters(board, sponsor, policy)
    missing = approval_shortfall(policy, votes, mandatory, voters, barred)
    if missing:
        raise RuleViolation(f"approval is not possible: {'; '.join(missing)}")


def require_due(due: object) -> date:
    if not isinstance(due, date):
        raise InvalidValue("a submitted change request needs a due date for its decision")
    return require_date(due, "the change request's due date")
