"""msgspec Structs for every request and response body.

Requests reject unknown fields and bound every string and list; money amounts are
decimal strings, never floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from domain.bounds import MAX_DAYS, MAX_INT, MAX_NAME, MAX_PERSON, MAX_POSITION, MAX_TEXT
from domain.gate_review import Evidence
from domain.money import Money

# The domain (domain/bounds.py) holds every range; these bounds answer 422 early, naming
# the field. Dates and times are checked by the domain only (msgspec cannot bound them).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
Person = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PERSON, pattern=r"^[^\s]+$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
OptText = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Link = Annotated[str, msgspec.Meta(max_length=2000)]
Hash = Annotated[str, msgspec.Meta(max_length=200)]
GateName = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Amount = Annotated[str, msgspec.Meta(pattern=r"^-?\d{1,15}(\.\d{1,4})?$", max_length=21)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Percent = Annotated[str, msgspec.Meta(pattern=r"^\d{1,3}(\.\d{1,2})?$", max_length=6)]


# Subclasses repeat frozen=True: they inherit it, but type checkers read a subclass of a
# dataclass_transform base as not frozen unless it says so (what msgspec recommends).
class Request(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Base of request bodies: unknown fields are an error."""


class Response(msgspec.Struct, frozen=True):
    """Base of response bodies."""


class MoneyBody(Request, frozen=True):
    amount: Amount
    currency: Currency

    def to_money(self) -> Money:
        return Money(Decimal(self.amount), self.currency)


class BoardBody(Request, frozen=True):
    members: Annotated[list[Person], msgspec.Meta(min_length=1, max_length=50)]
    chair: Person


class SignOffRequirementBody(Request, frozen=True):
    deliverable: Name
    signer_role: Person | None = None
    signer: Person | None = None


class GateBody(Request, frozen=True):
    name: GateName
    opens_stage: Name
    title: OptText = ""
    quorum: Annotated[int, msgspec.Meta(ge=1, le=50)] = 1
    mandatory_voters: Annotated[list[Person], msgspec.Meta(max_length=20)] = []
    chair_must_confirm: bool = True
    required_signoffs: Annotated[list[SignOffRequirementBody], msgspec.Meta(max_length=20)] = []
    vote_due_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 10


class TemplateBody(Request, frozen=True):
    name: Name
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)]
    gates: Annotated[list[GateBody], msgspec.Meta(min_length=1, max_length=20)]


class CreatePortfolio(Request, frozen=True):
    name: Name
    envelope: MoneyBody
    board: BoardBody
    objectives: Annotated[list[Text], msgspec.Meta(max_length=20)] = []
    template: TemplateBody | None = None  # inline; or a version of the library:
    template_ref: TemplateRefBody | None = None


class BaselineBody(Request, frozen=True):
    budget: MoneyBody
    start: date
    end: date
    scope: OptText = ""


class TolerancesBody(Request, frozen=True):
    cost_pct: Percent
    schedule_days: Annotated[int, msgspec.Meta(ge=0, le=MAX_DAYS)]


class CreateProject(Request, frozen=True):
    portfolio_id: UUID
    name: Name
    pm: Person
    sponsor: Person
    baseline: BaselineBody
    tolerances: TolerancesBody


class EvidenceBody(Request, frozen=True):
    title: Name
    link: Link = ""
    content_hash: Hash = ""


class RequestReview(Request, frozen=True):
    evidence: Annotated[list[EvidenceBody], msgspec.Meta(max_length=50)] = []

    def items(self) -> list[Evidence]:
        return [Evidence(e.title, e.link, e.content_hash) for e in self.evidence]


class CastVote(Request, frozen=True):
    vote: Literal["approve", "reject", "abstain"]
    rationale: Text
    on_behalf_of: Person | None = None


class ConditionBody(Request, frozen=True):
    description: Text
    owner: Person
    due: date


class DecideGate(Request, frozen=True):
    decision: Literal["GO", "CONDITIONAL_GO", "HOLD", "RECYCLE", "KILL"]
    rationale: Text
    conditions: Annotated[list[ConditionBody], msgspec.Meta(max_length=20)] = []
    seen_position: Annotated[int, msgspec.Meta(ge=0, le=MAX_POSITION)] | None = None
    on_behalf_of: Person | None = None


class CloseCondition(Request, frozen=True):
    note: Text


class CancelProject(Request, frozen=True):
    reason: Text


class CommandAnswer(Response, frozen=True):
    """Every command answers with at least these."""

    id: UUID
    version: int
    position: int
    details: dict[str, Any] = {}


class SetAsideEvent(Response, frozen=True):
    """An event a read model could not apply and moved past (``gateledger set-aside``)."""

    projection: str
    position: int
    aggregate_id: UUID
    type: str
    error: str
    first_failed_at: datetime
    attempts: int


class ReadModelAhead(Response, frozen=True):
    """A read model that claims a position past the log's end (it would skip events)."""

    projection: str
    position: int


class Health(Response, frozen=True, omit_defaults=True):  # ok: the same three fields as ever
    status: str  # "ok", or "degraded" (answered with 503)
    database: str
    position: int | None
    set_aside: list[SetAsideEvent] = []  # unresolved: each read model skipped these
    ahead_of_log: list[ReadModelAhead] = []


class Liveness(Response, frozen=True):
    status: Literal["ok"]  # the process serves HTTP (GET /livez asks nothing else)


class ReadModelLag(Response, frozen=True):
    """A read model's position and how many events of the log it has not applied."""

    read_model: str
    position: int
    lag: int


class Readiness(Response, frozen=True):
    status: Literal["ready", "not_ready"]  # not_ready: answered with 503
    database: str  # "reachable", or "unreachable: <kind of error>"
    position: int | None  # the log's head
    read_models: list[ReadModelLag]


class DraftChangeRequest(Request, frozen=True):
    title: Name
    description: Text
    cost_delta: MoneyBody
    schedule_delta_days: Annotated[int, msgspec.Meta(ge=-MAX_DAYS, le=MAX_DAYS)]
    scope: OptText = ""
    risk: OptText = ""


class AssessChangeRequest(Request, frozen=True):
    assessment: Text


class DecideChangeRequest(Request, frozen=True):
    decision: Literal["approve", "reject", "defer"]
    rationale: Text
    on_behalf_of: Person | None = None


class Reason(Request, frozen=True):
    reason: Text


class RequestSignOff(Request, frozen=True):
    deliverable: Name
    version: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    content_hash: Hash
    signatories: Annotated[list[Person], msgspec.Meta(min_length=1, max_length=50)]


class SignOffAnswer(Request, frozen=True):
    comment: OptText = ""


class Delegate(Request, frozen=True):
    delegate: Person
    ends: datetime
    starts: datetime | None = None
    portfolio_id: UUID | None = None
    project_id: UUID | None = None


class ChangeBoard(Request, frozen=True):
    board: BoardBody
    reason: Text


class ChangeEnvelope(Request, frozen=True):
    envelope: MoneyBody
    reason: Text


class ChangeProjectRole(Request, frozen=True):
    """Assign a PM or sponsor (replacing the holder) or a stakeholder; revoke a stakeholder."""

    action: Literal["assign", "revoke"]
    role: Literal["pm", "sponsor", "stakeholder"]
    person: Person
    reason: Text


class RebaselineProject(Request, frozen=True):
    baseline: BaselineBody
    reason: Text


# --- the template library ---------------------------------------------------------------

# A library template's name is also its path segment: letters, digits, spaces, . _ -
TemplateName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
]


class ChangePolicyBody(Request, frozen=True):
    quorum: Annotated[int, msgspec.Meta(ge=1, le=50)] = 2
    mandatory_voters: Annotated[list[Person], msgspec.Meta(max_length=20)] = []
    chair_must_confirm: bool = True


class TemplateRules(Request, frozen=True):
    """What a version of a library template says (its name and version are the library's)."""

    gates: Annotated[list[GateBody], msgspec.Meta(min_length=1, max_length=20)]
    reason: Text
    change_policy: ChangePolicyBody | None = None  # None: quorum 2, the sponsor mandatory
    cr_decision_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 10
    signoff_due_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 10


class CreateTemplate(TemplateRules, frozen=True, kw_only=True):
    name: TemplateName


class TemplateRefBody(Request, frozen=True):
    """A version of a library template."""

    name: TemplateName
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)]


class UseTemplate(TemplateRefBody, frozen=True, kw_only=True):
    reason: Text


EventTypePattern = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z.*]+$")
]


EventTypes = Annotated[list[EventTypePattern], msgspec.Meta(min_length=1, max_length=50)]


class CreateWebhook(Request, frozen=True):
    """An outbound webhook subscription (``api/controllers/webhooks.py``)."""

    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    # Canonical event names; "*" matches any text. None: escalations and decisions.
    event_types: EventTypes | None = None
    portfolio_id: UUID | None = None
    description: OptText = ""
