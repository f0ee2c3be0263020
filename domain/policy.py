"""Roles, actors and the governance rules a portfolio's projects follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.bounds import MAX_DAYS, MAX_INT, MAX_NAME, MAX_PERCENT, require_date, require_whole
from domain.checks import freeze, require_note, require_person, require_text
from domain.errors import InvalidValue, NotFound
from domain.money import Money


class Role(StrEnum):
    PMO_ADMIN = "pmo_admin"
    PM = "pm"
    SPONSOR = "sponsor"
    GATEKEEPER = "gatekeeper"
    CHAIR = "chair"
    STAKEHOLDER = "stakeholder"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Actor:
    """Who acted: ``person`` did it, using ``on_behalf_of``'s authority if delegated."""

    person: str
    on_behalf_of: str | None = None
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        require_person(self.person, "actor person")
        if self.on_behalf_of is not None:
            require_person(self.on_behalf_of, "on_behalf_of")
        if self.correlation_id is not None:
            require_note(self.correlation_id, "correlation id", MAX_NAME)

    @property
    def acting_as(self) -> str:
        """The person whose authority is used."""
        return self.on_behalf_of or self.person

    @property
    def people(self) -> tuple[str, ...]:
        """Everyone involved in the act (for separation of duties)."""
        if self.on_behalf_of and self.on_behalf_of != self.person:
            return (self.person, self.on_behalf_of)
        return (self.person,)

    def involves_any(self, people: tuple[str, ...]) -> bool:
        return any(p in people for p in self.people)


@dataclass(frozen=True)
class RoleAssignment:
    person: str
    role: Role


@dataclass(frozen=True)
class RequiredSignOff:
    deliverable: str
    signer_role: str | None = None
    signer: str | None = None

    def __post_init__(self) -> None:
        require_text(self.deliverable, "sign-off deliverable")
        for person, what in ((self.signer_role, "signer role"), (self.signer, "signer")):
            if person is not None:
                require_person(person, what)


MAX_QUORUM = 1000


@dataclass(frozen=True)
class DecisionPolicy:
    """``mandatory_voters`` hold role names (resolved against the project) or person ids."""

    quorum: int = 1
    mandatory_voters: tuple[str, ...] = ()
    chair_must_confirm: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.quorum, bool) or not isinstance(self.quorum, int) or self.quorum < 1:
            raise InvalidValue(f"quorum must be an integer >= 1, got {self.quorum!r}")
        require_whole(self.quorum, "quorum", 1, MAX_QUORUM)
        freeze(self, "mandatory_voters", "mandatory voters")
        for voter in self.mandatory_voters:
            require_person(voter, "mandatory voter")
        if Role.PM.value in self.mandatory_voters:
            # The PM requests reviews and raises change requests and never votes on them:
            # a mandatory PM vote could never be cast, so GO / approval would be blocked.
            raise InvalidValue("'pm' cannot be a mandatory voter: the PM never votes")


@dataclass(frozen=True)
class GateDefinition:
    name: str
    opens_stage: str
    policy: DecisionPolicy
    required_signoffs: tuple[RequiredSignOff, ...] = ()
    vote_due_days: int = 10
    title: str = ""

    def __post_init__(self) -> None:
        require_text(self.name, "gate name")
        require_text(self.opens_stage, "stage opened by the gate")
        freeze(self, "required_signoffs", "required sign-offs")
        if isinstance(self.vote_due_days, bool) or not isinstance(self.vote_due_days, int):
            raise InvalidValue("vote_due_days must be an integer")
        if self.vote_due_days < 1:
            raise InvalidValue("vote_due_days must be at least 1")
        require_whole(self.vote_due_days, "vote_due_days", 1, MAX_DAYS)
        require_note(self.title, "gate title")


DEFAULT_CHANGE_POLICY = DecisionPolicy(quorum=2, mandatory_voters=("sponsor",))


@dataclass(frozen=True)
class GovernanceTemplate:
    """Gates, plus how change requests escalated to the board are decided and how many
    days a CR decision and a sign-off may take (new fields always come with defaults)."""

    name: str
    version: int
    gates: tuple[GateDefinition, ...]
    change_policy: DecisionPolicy = DEFAULT_CHANGE_POLICY
    cr_decision_days: int = 10
    signoff_due_days: int = 10

    def __post_init__(self) -> None:
        require_text(self.name, "template name")
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise InvalidValue("template version must be an integer")
        require_whole(self.version, "template version", 1, MAX_INT)
        if not isinstance(self.change_policy, DecisionPolicy):
            raise InvalidValue("change_policy must be a DecisionPolicy")
        for days, what in ((self.cr_decision_days, "cr"), (self.signoff_due_days, "signoff")):
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise InvalidValue(f"{what} due days must be an integer >= 1")
            require_whole(days, f"{what} due days", 1, MAX_DAYS)
        freeze(self, "gates", "gates")
        if not self.gates:
            raise InvalidValue("a governance template needs at least one gate")
        names = [g.name for g in self.gates]
        if len(set(names)) != len(names):
            raise InvalidValue(f"gate names must be unique, got {names}")

    def index_of(self, name: str) -> int:
        for index, gate in enumerate(self.gates):
            if gate.name == name:
                return index
        raise NotFound(f"gate {name!r} is not in template {self.name!r} v{self.version}")

    def gate(self, name: str) -> GateDefinition:
        return self.gates[self.index_of(name)]


_DEFAULT_GATES = (
    ("G0", "Mandate", "Initiation", ()),
    ("G1", "Business case", "Planning", ("Business case",)),
    ("G2", "Plan", "Execution", ("Project plan",)),
    ("G3", "Readiness", "Closure", ()),
    ("G4", "Closure", "Closed", ()),
)


def default_template() -> GovernanceTemplate:
    """The five-gate template: G0 Mandate .. G4 Closure, sponsor mandatory from G1."""
    gates = tuple(
        GateDefinition(
            name=name,
            title=title,
            opens_stage=stage,
            policy=DecisionPolicy(
                quorum=2,
                mandatory_voters=() if name == "G0" else (Role.SPONSOR.value,),
                chair_must_confirm=True,
            ),
            required_signoffs=tuple(
                RequiredSignOff(deliverable=d, signer_role=Role.SPONSOR.value) for d in signoffs
            ),
        )
        for name, title, stage, signoffs in _DEFAULT_GATES
    )
    return GovernanceTemplate(name="Default stage-gate", version=1, gates=gates)


@dataclass(frozen=True)
class Tolerances:
    cost_pct: Decimal
    schedule_days: int

    def __post_init__(self) -> None:
        if not isinstance(self.cost_pct, Decimal) or not self.cost_pct.is_finite():
            raise InvalidValue("cost tolerance must be a finite Decimal percentage")
        if self.cost_pct < 0:
            raise InvalidValue("cost tolerance must not be negative")
        if self.cost_pct > MAX_PERCENT or self.cost_pct != round(self.cost_pct, 2):
            raise InvalidValue(f"cost tolerance must be at most {MAX_PERCENT}% in hundredths")
        if isinstance(self.schedule_days, bool) or not isinstance(self.schedule_days, int):
            raise InvalidValue("schedule tolerance must be a whole number of days")
        if self.schedule_days < 0:
            raise InvalidValue("schedule tolerance must not be negative")
        require_whole(self.schedule_days, "schedule tolerance days", 0, MAX_DAYS)


@dataclass(frozen=True)
class Baseline:
    budget: Money
    start: date
    end: date
    scope: str

    def __post_init__(self) -> None:
        if not isinstance(self.budget, Money):
            raise InvalidValue("baseline budget must be Money")
        if self.budget.is_negative():
            raise InvalidValue("baseline budget must not be negative")
        if not isinstance(self.start, date) or not isinstance(self.end, date):
            raise InvalidValue("baseline start and end dates are required")
        require_date(self.start, "baseline start")
        require_date(self.end, "baseline end")
        if self.end < self.start:
            raise InvalidValue(f"baseline ends ({self.end}) before it starts ({self.start})")
        if not isinstance(self.scope, str):
            raise InvalidValue("baseline scope must be text")
        require_note(self.scope, "baseline scope")


@dataclass(frozen=True)
class Board:
    members: tuple[str, ...]
    chair: str

    def __post_init__(self) -> None:
        freeze(self, "members", "board members")
        if not self.members:
            raise InvalidValue("a board needs at least one member")
        for member in self.members:
            require_person(member, "board member")
        if len(set(self.members)) != len(self.members):
            raise InvalidValue("board members must be unique")
        if self.chair not in self.members:
            raise InvalidValue(f"the chair {self.chair!r} must be a board member")
