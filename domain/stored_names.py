"""The stored name of every event and stored value type (docs/stored-names.md).

Events and value objects are written under these names, never under module paths, so
classes and methods may move without touching the record. A name never changes and is
never reused: a new shape is a new event or an upcaster (``class_version``). Every event
class the aggregates can trigger and every dataclass or enum they store must be listed
here (``tests/domain/test_stored_names.py`` fails otherwise).

Events are named ``Aggregate.Event`` after the aggregate that records them (events once
declared on ``ProjectBase`` and ``ProjectChanges``, former parts of ``Project``, are
``Project.*``; their old topics are in ``stored_names_v1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eventsourcing.domain import Snapshot

from domain.change_request import ChangeRequest
from domain.change_rules import CRDecision, CRDecisionRecord, CRStatus, Impact, Route
from domain.delegation import Delegation, DelegationBook
from domain.gate_review import (
    Condition,
    ConditionSpec,
    Decision,
    DecisionRecord,
    Evidence,
    Review,
    Vote,
    VoteRecord,
)
from domain.money import Money
from domain.policy import (
    Actor,
    Baseline,
    Board,
    DecisionPolicy,
    GateDefinition,
    GovernanceTemplate,
    RequiredSignOff,
    Role,
    RoleAssignment,
    Tolerances,
)
from domain.portfolio import Portfolio
from domain.project import Project, ProjectStatus
from domain.signoff import Signature, SignOff, SignOffStatus, SignOffSummary
from domain.stored_names_v1 import TOPICS_V1
from domain.template_series import TemplateSeries

AGGREGATES: dict[str, type] = {
    "Portfolio": Portfolio,
    "Project": Project,
    "ChangeRequest": ChangeRequest,
    "SignOff": SignOff,
    "DelegationBook": DelegationBook,
    "TemplateSeries": TemplateSeries,
    "Snapshot": Snapshot,  # eventsourcing's snapshot of any aggregate
}

EVENTS: dict[str, type] = {
    "Portfolio.Created": Portfolio.Created,
    "Portfolio.BoardChanged": Portfolio.BoardChanged,
    "Portfolio.RoleAssigned": Portfolio.RoleAssigned,
    "Portfolio.RoleRevoked": Portfolio.RoleRevoked,
    "Portfolio.EnvelopeChanged": Portfolio.EnvelopeChanged,
    "Portfolio.TemplateChanged": Portfolio.TemplateChanged,
    "Project.Created": Project.Created,
    "Project.ReviewRequested": Project.ReviewRequested,
    "Project.EvidenceAmended": Project.EvidenceAmended,
    "Project.VoteCast": Project.VoteCast,
    "Project.VoteChanged": Project.VoteChanged,
    "Project.GateDecided": Project.GateDecided,
    "Project.RoleAssigned": Project.RoleAssigned,
    "Project.RoleRevoked": Project.RoleRevoked,
    "Project.ConditionClosed": Project.ConditionClosed,
    "Project.Cancelled": Project.Cancelled,
    "Project.PutOnHold": Project.PutOnHold,
    "Project.Resumed": Project.Resumed,
    "Project.Rebaselined": Project.Rebaselined,
    "Project.ChangeApplied": Project.ChangeApplied,
    "Project.SignOffRequested": Project.SignOffRequested,
    "Project.SignOffCompleted": Project.SignOffCompleted,
    "Project.SignOffDeclined": Project.SignOffDeclined,
    "Project.SignOffSuperseded": Project.SignOffSuperseded,
    "Project.Escalated": Project.Escalated,
    "Project.EscalatedTo": Project.EscalatedTo,
    "Project.TemplateMigrated": Project.TemplateMigrated,
    "ChangeRequest.Created": ChangeRequest.Created,
    "ChangeRequest.Amended": ChangeRequest.Amended,
    "ChangeRequest.Submitted": ChangeRequest.Submitted,
    "ChangeRequest.Assessed": ChangeRequest.Assessed,
    "ChangeRequest.Withdrawn": ChangeRequest.Withdrawn,
    "ChangeRequest.VoteCast": ChangeRequest.VoteCast,
    "ChangeRequest.VoteChanged": ChangeRequest.VoteChanged,
    "ChangeRequest.Decided": ChangeRequest.Decided,
    "ChangeRequest.Implemented": ChangeRequest.Implemented,
    "ChangeRequest.Escalated": ChangeRequest.Escalated,
    "ChangeRequest.EscalatedTo": ChangeRequest.EscalatedTo,
    "SignOff.Requested": SignOff.Requested,
    "SignOff.Signed": SignOff.Signed,
    "SignOff.Declined": SignOff.Declined,
    "SignOff.Superseded": SignOff.Superseded,
    "SignOff.Escalated": SignOff.Escalated,
    "SignOff.EscalatedTo": SignOff.EscalatedTo,
    "Delegation.Created": DelegationBook.Created,
    "Delegation.Delegated": DelegationBook.Delegated,
    "Delegation.Revoked": DelegationBook.Revoked,
    "Template.Created": TemplateSeries.Created,
    "Template.Published": TemplateSeries.Published,
}

VALUES: dict[str, type] = {
    "Money": Money,
    "Actor": Actor,
    "Role": Role,
    "RoleAssignment": RoleAssignment,
    "Board": Board,
    "Baseline": Baseline,
    "Tolerances": Tolerances,
    "DecisionPolicy": DecisionPolicy,
    "RequiredSignOff": RequiredSignOff,
    "GateDefinition": GateDefinition,
    "GovernanceTemplate": GovernanceTemplate,
    "ProjectStatus": ProjectStatus,
    "Vote": Vote,
    "Decision": Decision,
    "Evidence": Evidence,
    "ConditionSpec": ConditionSpec,
    "VoteRecord": VoteRecord,
    "Review": Review,
    "Condition": Condition,
    "DecisionRecord": DecisionRecord,
    "Route": Route,
    "CRStatus": CRStatus,
    "CRDecision": CRDecision,
    "CRDecisionRecord": CRDecisionRecord,
    "Impact": Impact,
    "SignOffStatus": SignOffStatus,
    "Signature": Signature,
    "SignOffSummary": SignOffSummary,
    "Delegation": Delegation,
}


@dataclass(frozen=True)
class StoredNames:
    """name -> class, and every topic written before stable names -> its name."""

    types: Mapping[str, type]
    old_topics: Mapping[str, str]


STORED_NAMES = StoredNames(types={**AGGREGATES, **EVENTS, **VALUES}, old_topics=TOPICS_V1)
