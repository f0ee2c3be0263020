"""What every read answers: msgspec Structs, so the OpenAPI schema describes each one.

One representation per thing: a project in a list is a subset of the project's detail
(``ProjectSummary`` is the first fields of ``ProjectDetail``), and a read ``?as_of=`` a
moment answers the same ``ProjectDetail`` (or ``PortfolioView``) with ``as_of_position``
set. Statuses, decisions and votes are enumerations; stage names come from the
portfolio's governance template (the default's: Proposal, Initiation, Planning,
Execution, Closure, Closed).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

ProjectStatus = Literal["proposed", "active", "on_hold", "closed", "cancelled"]
GateDecision = Literal["GO", "CONDITIONAL_GO", "HOLD", "RECYCLE", "KILL"]
VoteValue = Literal["approve", "reject", "abstain"]
CRStatus = Literal[
    "draft", "submitted", "assessed", "approved", "rejected", "deferred", "withdrawn", "implemented"
]
CRRoute = Literal["sponsor", "board"]
CRDecision = Literal["approve", "reject", "defer"]
SignOffStatus = Literal["open", "complete", "declined", "superseded"]
InboxKind = Literal[
    "vote", "decision", "cr_vote", "cr_decision", "signoff", "condition", "escalated"
]


class Answer(msgspec.Struct, kw_only=True):
    """A read's answer (what the server sends; clients may ignore fields they do not know)."""


class Money(Answer):
    amount: str  # a decimal, as text
    currency: str  # ISO 4217


class ActorRef(Answer):
    person: str
    on_behalf_of: str | None = None


class Board(Answer):
    members: list[str]
    chair: str


# --- projects ---------------------------------------------------------------------------


class ProjectSummary(Answer):
    """A project in a list: the first fields of its detail."""

    id: UUID
    portfolio_id: UUID
    name: str
    status: ProjectStatus
    stage: str
    pm: str
    sponsor: str
    next_gate: str | None
    version: int
    budget: Money
    open_review: str | None  # the gate whose review is open


class Tolerances(Answer):
    cost_pct: str
    schedule_days: int


class ApprovedChanges(Answer):
    cost: Money
    schedule_days: int


class ToleranceLeft(Answer):
    """Deviation still within tolerance before a change request goes to the board
    (tolerance minus the cumulative approved changes; negative once beyond it)."""

    cost: Money
    schedule_days: int


class Gate(Answer):
    name: str
    title: str
    opens_stage: str
    quorum: int
    mandatory: list[str]
    chair_must_confirm: bool
    vote_due_days: int
    signoffs: list[str]


class ChangePolicy(Answer):
    quorum: int
    mandatory: list[str]
    chair_must_confirm: bool


class TemplateRef(Answer):
    """A template version, by its name and version (``Lean`` v2)."""

    name: str
    version: int


class Ballot(Answer):
    voter: str
    vote: VoteValue


class Review(Answer):
    gate: str
    requested_by: list[str]
    requested_at: datetime
    due: date
    votes: list[Ballot]


class Condition(Answer):
    id: UUID
    gate: str
    description: str
    owner: str
    due: date
    closed: bool


class GateDecisionRecord(Answer):
    gate: str
    decision: GateDecision
    rationale: str
    decided_by: ActorRef
    decided_at: datetime
    position: int | None = None
    seen_position: int | None = None
    votes: list[Ballot] = []


class SignOffItem(Answer):
    id: UUID
    deliverable: str
    version: str
    status: SignOffStatus


class ProjectDetail(ProjectSummary, kw_only=True):
    """A project: now, or as it stood at ``as_of_position``."""

    stakeholders: list[str] = []
    original_budget: Money
    start: date
    end: date
    scope: str
    tolerances: Tolerances
    approved_changes: ApprovedChanges
    tolerance_left: ToleranceLeft | None = None
    template: TemplateRef | None = None  # the version it follows (None: not yet projected)
    gates: list[Gate]
    change_policy: ChangePolicy | None = None
    review: Review | None = None
    conditions: list[Condition] = []
    decisions: list[GateDecisionRecord] = []
    signoffs: list[SignOffItem] = []
    created_at: datetime | None = None
    modified_at: datetime | None = None
    as_of_position: int | None = None  # set on a read ?as_of=


class ProjectPage(Answer):
    items: list[ProjectSummary]
    next: str | None


class HistoryEntry(Answer):
    position: int
    version: int
    type: str  # the event's stored name, e.g. Project.VoteCast
    at: datetime
    actor: str | None
    on_behalf_of: str | None
    data: dict[str, Any]  # the event's attributes, as recorded


class HistoryPage(Answer):
    items: list[HistoryEntry]
    next: str | None


class EvidenceItem(Answer):
    title: str
    link: str
    content_hash: str


class CastVote(Answer):
    voter: str  # whose vote
    cast_by: str  # who cast it (their delegate, if not themselves)
    on_behalf_of: str | None  # the voter, when their delegate cast it; None: in person
    vote: VoteValue
    rationale: str
    evidence: list[EvidenceItem]
    cast_at: datetime


class ReviewSeen(Answer):
    gate: str
    requested_by: ActorRef
    requested_at: datetime
    due: date
    evidence: list[EvidenceItem]
    votes: list[CastVote]


class ConditionSet(Answer):
    description: str
    owner: str
    due: date


class DecisionTaken(Answer):
    decision: GateDecision
    rationale: str
    decided_by: ActorRef
    decided_at: datetime
    position: int
    seen_position: int | None  # what the decider said they had seen
    conditions: list[ConditionSet]


class DecisionContext(Answer):
    """What the deciders saw: the decision, the review it closed (its evidence and every
    vote with its rationale), and the project as it stood at the decider's
    ``seen_position`` (or just before the decision, if none was given)."""

    project_id: UUID
    gate: str
    n: int  # the n-th decision on this gate, from 1
    decision: DecisionTaken
    review: ReviewSeen
    project: ProjectDetail | None  # None: the seen position came before the project
    open_conditions: list[Condition]  # the project's conditions open when it was decided
    portfolio: PortfolioTotals | None  # the portfolio at the seen position


class PortfolioTotals(Answer):
    """The portfolio's totals as of a position: its projects counted and its budget."""

    id: UUID
    name: str
    as_of_position: int | None
    projects: ProjectCounts
    budget: Budget


# --- portfolios -------------------------------------------------------------------------


class PortfolioSummary(Answer):
    id: UUID
    name: str
    version: int


class PortfolioPage(Answer):
    items: list[PortfolioSummary]
    next: str | None


class ProjectCounts(Answer):
    total: int
    by_stage: dict[str, int]
    by_status: dict[str, int]


class Budget(Answer):
    """Budgets are current baselines (approved change deltas included). ``committed``:
    proposed, active and on-hold projects; ``released``: cancelled (killed) ones;
    ``closed``: spent to close. ``baseline_total`` is committed plus closed, what the
    envelope carries; ``overrun`` when it exceeds the envelope, by ``over_by``."""

    envelope: Money
    baseline_total: Money
    remaining: Money
    committed: Money
    released: Money
    closed: Money
    overrun: bool
    over_by: Money


class PendingDecisions(Answer):
    pending: int
    overdue: int


class PortfolioView(PortfolioSummary, kw_only=True):
    """A portfolio: now, or as it stood at ``as_of_position``."""

    objectives: list[str]
    board: Board
    template: str
    projects: ProjectCounts
    budget: Budget
    approved_changes: ApprovedChanges
    decisions: PendingDecisions
    as_of_position: int | None = None  # set on a read ?as_of=


# --- the template library --------------------------------------------------------------


class SignOffRequirement(Answer):
    deliverable: str
    signer_role: str | None
    signer: str | None


class TemplateGate(Gate, kw_only=True):
    required_signoffs: list[SignOffRequirement] = []


class TemplateVersion(Answer):
    """One version of a library template: what it says, and who published it, when, why."""

    name: str
    version: int
    gates: list[TemplateGate]
    change_policy: ChangePolicy
    cr_decision_days: int
    signoff_due_days: int
    reason: str
    published_by: ActorRef
    published_at: datetime
    position: int


class TemplateVersions(Answer):
    name: str
    latest_version: int
    versions: list[TemplateVersion]  # oldest first


class TemplateSummary(Answer):
    """A template in the list: its latest version (its gates by name) and who published
    it, when and why; who created the template, when."""

    name: str
    latest_version: int
    gates: list[str]
    reason: str
    published_by: ActorRef
    published_at: datetime
    position: int
    created_by: ActorRef
    created_at: datetime
    created_position: int  # the list's order and cursor


class TemplatePage(Answer):
    items: list[TemplateSummary]
    next: str | None


# --- change requests and sign-offs --------------------------------------------------------


class CRDecisionRecord(Answer):
    decision: CRDecision
    rationale: str
    decided_by: ActorRef
    decided_at: datetime
    position: int | None = None


class ChangeRequest(Answer):
    id: UUID
    project_id: UUID
    portfolio_id: UUID
    version: int
    title: str
    description: str
    cost_delta: Money
    schedule_delta_days: int
    scope: str
    risk: str
    status: CRStatus
    submitter: str
    route: CRRoute | None
    due: date | None
    assessment: str | None
    votes: dict[str, VoteValue]
    decisions: list[CRDecisionRecord]
    created_at: datetime
    modified_at: datetime | None = None


class ChangeRequestPage(Answer):
    items: list[ChangeRequest]
    next: str | None


class Signature(Answer):
    person: str
    comment: str
    at: datetime


class Declined(Answer):
    person: str
    comment: str


class SignOff(Answer):
    id: UUID
    project_id: UUID
    portfolio_id: UUID
    version: int
    deliverable: str
    deliverable_version: str
    content_hash: str
    signatories: list[str]
    signed: list[Signature]
    declined_by: Declined | None
    status: SignOffStatus
    due: date
    requested_by: str
    created_at: datetime
    modified_at: datetime | None = None


class SignOffPage(Answer):
    items: list[SignOff]
    next: str | None


# --- the inbox and the audit trail ----------------------------------------------------


class Delegation(Answer):
    """A delegation the caller gave or received; ``status`` at the time of the read."""

    id: UUID
    delegator: str
    delegate: str
    starts: datetime
    ends: datetime
    portfolio_id: UUID | None
    project_id: UUID | None
    status: Literal["active", "upcoming", "expired", "revoked"]
    position: int  # where it was recorded in the log


class DelegationPage(Answer):
    items: list[Delegation]
    next: str | None


class InboxItem(Answer):
    subject_id: UUID
    kind: InboxKind
    project_id: UUID | None
    portfolio_id: UUID | None
    title: str
    due: date | None
    overdue: bool
    escalated: bool
    since: datetime
    on_behalf_of: str | None  # owed as someone's delegate


class Inbox(Answer):
    person: str
    items: list[InboxItem]
    next: str | None


class AuditEvent(Answer):
    position: int
    at: datetime
    aggregate_id: UUID
    aggregate_type: str
    type: str
    actor: str | None
    on_behalf_of: str | None
    project_id: UUID | None
    portfolio_id: UUID | None
    correlation_id: str | None
    summary: str
    rationale: str | None = None  # the rationale, comment, reason or note of the act


class AuditPage(Answer):
    items: list[AuditEvent]
    next: str | None


class FeedEvent(Answer):
    """One event as live updates (``GET /events/stream``) and webhooks send it: the
    audit trail's row without its correlation id and rationale."""

    position: int  # the event's position in the log: the SSE id, the resume point
    type: str  # canonical name, e.g. "Project.GateDecided"
    aggregate_type: str
    aggregate_id: UUID
    project_id: UUID | None
    portfolio_id: UUID | None
    at: datetime
    actor: str | None
    on_behalf_of: str | None
    summary: str  # in plain words, as in the audit trail


class Webhook(Answer):
    """An outbound webhook subscription (its secret is shown once, when it is made)."""

    id: UUID
    url: str
    event_types: list[str]  # canonical names; "*" matches any text ("*.EscalatedTo")
    portfolio_id: UUID | None  # only events of this portfolio, if set
    description: str
    created_by: str
    created_at: datetime
    position: int  # every event up to here has been queued (or was not wanted)
    pending: int  # deliveries not yet taken by the receiver


class WebhookCreated(Webhook, kw_only=True):
    secret: str  # "whsec_" + base64: shown only in this answer


class WebhookPage(Answer):
    items: list[Webhook]
    next: str | None


class DeliveryAttempt(Answer):
    n: int
    at: datetime
    http_status: int | None  # None: no answer (refused address, connection error, timeout)
    error: str | None  # None: the receiver took it (2xx)
    duration_ms: int


class Delivery(Answer):
    id: UUID  # also the webhook-id header: the same on every try
    webhook_id: UUID
    position: int
    event_type: str
    status: Literal["pending", "delivered"]
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None  # when pending
    log: list[DeliveryAttempt]  # the latest attempts, oldest first


class DeliveryPage(Answer):
    items: list[Delivery]
    next: str | None


def typed(value: Any, answer: type[Answer]) -> Any:
    """``value`` (plain JSON from a read model) as ``answer``; a read model whose rows
    do not fit the published answer is a server error, never a silent change."""
    return msgspec.convert(value, answer, strict=False)


def paged(answer: type[Answer], items: list[Any], cursor: int | str | None) -> Any:
    """A page of ``items`` as ``answer``: ``next`` is the cursor of the page after."""
    return typed({"items": items, "next": None if cursor is None else str(cursor)}, answer)
