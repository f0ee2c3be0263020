"""Given-builders for the pure domain tests: people, a board, a project in each state,
change requests, sign-offs and delegation books."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.change_request import ChangeRequest, CRDecision, Route
from domain.delegation import DelegationBook, delegation_book_id
from domain.gate_review import ConditionSpec, Decision, Evidence, Vote
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Tolerances, default_template
from domain.project import Project
from domain.signoff import SignOff

PM = Actor("pat")
SPONSOR = Actor("sam")
CHAIR = Actor("cora")
GATEKEEPER = Actor("gail")
GATEKEEPER_2 = Actor("gus")
OUTSIDER = Actor("olga")
ADMIN = Actor("ada")
BOARD = Board(members=("cora", "gail", "gus"), chair="cora")
EVIDENCE = (Evidence("Mandate", "https://docs/mandate", "sha256:aa"),)
SIGNOFFS = frozenset({"Business case", "Project plan"})


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


BASELINE = Baseline(eur("100000"), date(2025, 1, 1), date(2025, 12, 31), "Build the thing")
TOLERANCES = Tolerances(Decimal("10"), 14)


def new_project(**overrides: Any) -> Project:
    kwargs: dict[str, object] = dict(
        id=uuid4(),
        portfolio_id=uuid4(),
        name="Apollo",
        pm="pat",
        sponsor="sam",
        baseline=BASELINE,
        tolerances=TOLERANCES,
        template=default_template(),
        by=ADMIN,
        portfolio_currency="EUR",
    )
    kwargs.update(overrides)
    return Project.create(**kwargs)  # type: ignore[arg-type]


def request(project: Project, gate: str, by: Actor = PM) -> None:
    project.request_review(gate, EVIDENCE, by=by, completed_signoffs=SIGNOFFS)


def approve(project: Project, gate: str, *voters: Actor) -> None:
    for voter in voters:
        project.cast_vote(gate, Vote.APPROVE, "Looks sound", by=voter, board=BOARD)


def condition(owner: str = "pat", description: str = "Fix the risk log") -> ConditionSpec:
    return ConditionSpec(uuid4(), description, owner, date(2025, 3, 1))


def pass_gate(project: Project, gate: str, conditions: tuple[ConditionSpec, ...] = ()) -> None:
    """Request, approve (two gatekeepers, the sponsor if mandatory), decide (CONDITIONAL_)GO."""
    request(project, gate)
    approve(project, gate, GATEKEEPER, GATEKEEPER_2)
    if "sponsor" in project.template.gate(gate).policy.mandatory_voters:
        approve(project, gate, SPONSOR)
    decision = Decision.CONDITIONAL_GO if conditions else Decision.GO
    project.decide(gate, decision, "Ready", by=CHAIR, board=BOARD, conditions=conditions)


# --- change requests, sign-offs, delegations -------------------------------------------

DUE = date(2025, 3, 14)
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def new_cr(cost: str = "5000", days: int = 7, **overrides: Any) -> ChangeRequest:
    """Given the PM drafted a CR (by default 5000 EUR, 7 days: within tolerance)."""
    kwargs: dict[str, object] = dict(
        id=uuid4(),
        project_id=uuid4(),
        portfolio_id=uuid4(),
        title="Add SSO",
        description="Customers asked for single sign-on",
        cost_delta=eur(cost),
        schedule_delta_days=days,
        scope="SSO for the portal",
        risk="Vendor lock-in",
        by=PM,
        pm="pat",
        currency="EUR",
    )
    kwargs.update(overrides)
    return ChangeRequest.create(**kwargs)  # type: ignore[arg-type]


def submitted_cr(route: Route = Route.SPONSOR, **overrides: Any) -> ChangeRequest:
    cr = new_cr(**overrides)
    cr.submit(route, DUE, by=PM)
    return cr


def cr_vote(cr: ChangeRequest, vote: Vote, *voters: Actor) -> None:
    for voter in voters:
        cr.cast_vote(vote, "Reviewed the impact", by=voter, board=BOARD, sponsor="sam")


def cr_decide(cr: ChangeRequest, decision: CRDecision, by: Actor) -> None:
    policy = default_template().change_policy
    cr.decide(decision, "Weighed it", by=by, board=BOARD, sponsor="sam", policy=policy)


def new_signoff(signatories: tuple[str, ...] = ("sam", "stan"), **overrides: Any) -> SignOff:
    kwargs: dict[str, object] = dict(
        id=uuid4(),
        project_id=uuid4(),
        portfolio_id=uuid4(),
        deliverable="Business case",
        version="1.0",
        content_hash="sha256:bc1",
        signatories=signatories,
        due=DUE,
        by=PM,
        pm="pat",
    )
    kwargs.update(overrides)
    return SignOff.create(**kwargs)  # type: ignore[arg-type]


def new_book(delegator: str = "gail") -> DelegationBook:
    return DelegationBook.create(delegation_book_id(delegator), delegator, by=Actor(delegator))


def delegate(book: DelegationBook, to: str, days: int = 14, **scope: Any) -> UUID:
    """Given the book's owner delegated to ``to`` from T0 for ``days``; the delegation id."""
    delegation_id = uuid4()
    book.delegate(
        delegation_id,
        to,
        starts=T0,
        ends=T0 + timedelta(days=days),
        now=T0,
        by=Actor(book.delegator),
        **scope,
    )
    return delegation_id
