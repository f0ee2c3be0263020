"""Given-builders for the pure domain tests: people, a board, a project in each state."""

from datetime import date
from decimal import Decimal
from uuid import uuid4

from domain.gate_review import ConditionSpec, Decision, Evidence, Vote
from domain.money import Money
from domain.policy import Actor, Baseline, Board, Tolerances, default_template
from domain.project import Project

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


def new_project(**overrides: object) -> Project:
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
