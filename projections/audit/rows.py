"""One audit row per event: who, on whose behalf, in which project and portfolio, and a
readable line saying what they did.

Pure functions over ``Change``: the live projector and a rebuild compute rows the same
way. ``Scope`` remembers, for each project, change request and sign-off, the project
and portfolio it belongs to (only their first event names them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg.pgproto.pgproto import UUID as _DbUUID

from projections.engine.events import Change

AuditRow = tuple[
    int,
    datetime,
    UUID,
    str,
    str,
    str | None,
    str | None,
    UUID | None,
    UUID | None,
    str | None,
    str,
    str | None,
]
# aggregate id -> (project id, portfolio id)
Scope = dict[UUID, tuple[UUID | None, UUID | None]]
# change request, sign-off or condition id -> what names it in a line
# ("'More licences'", "'Plan' v2", "'Fix the risk log'")
Labels = dict[UUID, str]
# The data attributes that say why, in order: the first non-empty one is the row's.
WHY = ("rationale", "comment", "reason", "note")


def _t(value: Any) -> str:
    return "" if value is None else str(value)


def _signed(value: Any) -> str:
    text = _t(value)
    return text if text.startswith("-") else "+" + text


def _change_applied(d: Any) -> str:
    cost = d.get("cost_delta")
    amount, currency = (cost.amount, cost.currency) if cost is not None else (None, None)
    return (
        f"re-baselined the project after an approved change ({_signed(amount)} "
        f"{_t(currency)}, {_signed(d.get('schedule_delta_days'))} days)"
    )


def _role(verb: str) -> Callable[[Any], str]:
    return lambda d: f"{verb} role {_t(d.get('role'))} for {_t(d.get('person'))}"


def _signoff_recorded(s: Any) -> str:
    deliverable, version = getattr(s, "deliverable", None), getattr(s, "version", None)
    return f"recorded a sign-off request for '{_t(deliverable)}' v{_t(version)}"


def _escalated(d: Any) -> str:
    to = f" to {_t(d['to'])}" if d.get("to") else ""
    return f"escalated overdue {_t(d.get('item'))}{to}"


def _version(name: Any, version: Any) -> str:
    return f"'{_t(name)}' v{_t(version)}"


def _template_changed(d: Any) -> str:
    t = d.get("template")
    was = _version(d.get("previous_name"), d.get("previous_version"))
    now = _version(getattr(t, "name", None), getattr(t, "version", None))
    return f"switched new projects from template {was} to {now}"


def _template_migrated(d: Any) -> str:
    t = d.get("template")
    was = _version(d.get("previous_name"), d.get("previous_version"))
    now = _version(getattr(t, "name", None), getattr(t, "version", None))
    return f"migrated the project from template {was} to {now}"


def _template_published(verb: str) -> Callable[[Any], str]:
    def line(d: Any) -> str:
        t = d.get("template")
        return f"{verb} template {_version(getattr(t, 'name', None), getattr(t, 'version', None))}"

    return line


# key -> what follows "<who> "
SUMMARIES: dict[str, Callable[[Any], str]] = {
    "Portfolio.Created": lambda d: f"created portfolio '{_t(d.get('name'))}'",
    "Portfolio.BoardChanged": lambda d: "changed the board",
    "Portfolio.EnvelopeChanged": lambda d: f"changed the envelope: {_t(d.get('reason'))}",
    "Portfolio.RoleAssigned": _role("assigned"),
    "Portfolio.RoleRevoked": _role("revoked"),
    "Portfolio.TemplateChanged": _template_changed,
    "Project.Created": lambda d: f"created project '{_t(d.get('name'))}'",
    "Project.ReviewRequested": lambda d: f"requested the {_t(d.get('gate'))} review",
    "Project.EvidenceAmended": lambda d: f"amended the {_t(d.get('gate'))} evidence",
    "Project.VoteCast": lambda d: f"voted {_t(d.get('vote'))} on {_t(d.get('gate'))}",
    "Project.VoteChanged": (
        lambda d: f"changed their {_t(d.get('gate'))} vote to {_t(d.get('vote'))}"
    ),
    "Project.GateDecided": (lambda d: f"decided {_t(d.get('decision'))} at {_t(d.get('gate'))}"),
    "Project.Cancelled": lambda d: f"cancelled the project: {_t(d.get('reason'))}",
    "Project.PutOnHold": lambda d: "put the project on hold",
    "Project.Resumed": lambda d: "resumed the project",
    "Project.Rebaselined": lambda d: "re-baselined the project",
    "Project.ChangeApplied": _change_applied,
    "Project.Escalated": _escalated,
    "Project.EscalatedTo": _escalated,
    "Project.SignOffRequested": lambda d: _signoff_recorded(d.get("signoff")),
    "Project.SignOffCompleted": lambda d: "recorded a completed sign-off",
    "Project.SignOffDeclined": lambda d: "recorded a declined sign-off",
    "Project.SignOffSuperseded": lambda d: "recorded a superseded sign-off",
    "Project.RoleAssigned": _role("assigned"),
    "Project.RoleRevoked": _role("revoked"),
    "Project.TemplateMigrated": _template_migrated,
    "ChangeRequest.Created": (
        lambda d: f"drafted change request '{_t(getattr(d.get('impact'), 'title', None))}'"
    ),
    "ChangeRequest.Submitted": (
        lambda d: f"submitted the change request, routed to the {_t(d.get('route'))}"
    ),
    "ChangeRequest.Amended": (
        lambda d: f"amended change request '{_t(getattr(d.get('impact'), 'title', None))}'"
    ),
    "ChangeRequest.Assessed": lambda d: "assessed the change request",
    "ChangeRequest.Withdrawn": lambda d: f"withdrew the change request: {_t(d.get('reason'))}",
    "ChangeRequest.Implemented": lambda d: "marked the change request implemented",
    "ChangeRequest.Escalated": _escalated,
    "ChangeRequest.EscalatedTo": _escalated,
    "SignOff.Requested": (
        lambda d: f"requested sign-off of '{_t(d.get('deliverable'))}' v{_t(d.get('version'))}"
    ),
    "SignOff.Superseded": lambda d: "superseded the sign-off request with a newer version",
    "SignOff.Escalated": _escalated,
    "SignOff.EscalatedTo": _escalated,
    "Delegation.Delegated": (
        lambda d: f"delegated authority to {_t(getattr(d.get('delegation'), 'delegate', None))}"
    ),
    "Delegation.Created": lambda d: "opened their delegation book",
    "Delegation.Revoked": lambda d: "revoked a delegation",
    "Template.Created": _template_published("created"),
    "Template.Published": _template_published("published"),
}

# key -> what follows "<who> ", given the label of what it acted on
LABELLED: dict[str, Callable[[Any, str], str]] = {
    "Project.ConditionClosed": lambda d, what: f"closed condition {what}",
    "ChangeRequest.VoteCast": lambda d, what: f"voted {_t(d.get('vote'))} on change request {what}",
    "ChangeRequest.VoteChanged": (
        lambda d, what: f"changed their vote on change request {what} to {_t(d.get('vote'))}"
    ),
    "ChangeRequest.Decided": (
        lambda d, what: f"decided {_t(d.get('decision'))} on change request {what}"
    ),
    "SignOff.Signed": lambda d, what: f"signed off {what}",
    "SignOff.Declined": lambda d, what: f"declined to sign off {what}: {_t(d.get('comment'))}",
}

_WORDS = re.compile(r"([a-z])([A-Z])")
# Events whose first appearance names the project and portfolio of their aggregate.
LEARNING = frozenset(
    {"ChangeRequest.Created", "ChangeRequest.Amended", "SignOff.Requested", "Project.GateDecided"}
)
SCOPING = ("Project.Created", "ChangeRequest.Created", "SignOff.Requested")


def who(c: Change) -> str:
    """``alice``, ``bob for alice``, or ``system`` for the server's own acts."""
    person = c.actor if c.actor is not None else "system"
    return person if c.on_behalf_of is None else f"{person} for {c.on_behalf_of}"


def summary(c: Change) -> str:
    """The readable line of one event, e.g. ``erin voted approve on G0``."""
    text = SUMMARIES.get(c.key)
    if text is None and c.key in LABELLED:
        return f"{who(c)} {LABELLED[c.key](c.data, '(unknown)')}"
    if text is None:
        words = _WORDS.sub(r"\1 \2", c.event).lower()
        return f"{who(c)}: {c.aggregate} {words}"
    return f"{who(c)} {text(c.data)}"


def scope_of(c: Change, scope: Scope) -> tuple[UUID | None, UUID | None]:
    """(project, portfolio) of the event's aggregate; learns it from scoping events."""
    known = scope.get(c.aggregate_id)
    if known is not None:
        return known
    if c.aggregate == "Portfolio":
        return None, c.aggregate_id
    d = c.data
    project = c.aggregate_id if c.aggregate == "Project" else _db_uuid(d.get("project_id"))
    found = project, _db_uuid(d.get("portfolio_id"))
    if c.key in SCOPING:
        scope[c.aggregate_id] = found
    return found


def _db_uuid(value: UUID | None) -> UUID | None:
    """The driver's own UUID type (a ``uuid.UUID``) for ids repeated on many rows: it
    encodes several times faster than the standard library's."""
    return None if value is None else _DbUUID(value.bytes)


def learn_labels(c: Change, labels: Labels) -> None:
    """Remember what names the change requests, sign-offs and conditions ``c`` creates
    or renames, for the lines of later acts on them."""
    d = c.data
    if c.key in ("ChangeRequest.Created", "ChangeRequest.Amended"):
        labels[c.aggregate_id] = f"'{_t(getattr(d.get('impact'), 'title', None))}'"
    elif c.key == "SignOff.Requested":
        labels[c.aggregate_id] = f"'{_t(d.get('deliverable'))}' v{_t(d.get('version'))}"
    elif c.key == "Project.GateDecided":
        for spec in d.get("conditions") or ():
            labels[spec.id] = f"'{_t(spec.description)}'"


def _labelled(c: Change, labels: Labels, person: str) -> str:
    d = c.data
    target = d.get("condition_id") if c.key == "Project.ConditionClosed" else c.aggregate_id
    return f"{person} {LABELLED[c.key](d, labels.get(target, '(unknown)'))}"


def why(c: Change) -> str | None:
    """The rationale, comment, reason or note of the act, if it has one."""
    d = c.data
    for name in WHY:
        value = d.get(name)
        if value:
            return str(value)
    return None


def audit_rows(changes: Iterable[Change], scope: Scope, labels: Labels) -> list[AuditRow]:
    """The audit rows of ``changes`` (in order), updating ``scope`` and ``labels`` as
    they go.

    (``who``, ``summary`` and ``scope_of`` written out inline: a rebuild runs this once
    per event.)"""
    rows: list[AuditRow] = []
    append = rows.append
    known = scope.get
    texts = SUMMARIES.get
    for c in changes:
        where = known(c.aggregate_id) or scope_of(c, scope)
        person = c.actor if c.actor is not None else "system"
        if c.on_behalf_of is not None:
            person = f"{person} for {c.on_behalf_of}"
        text = texts(c.key)
        if c.key in LEARNING:
            learn_labels(c, labels)
        if text is not None:
            line = f"{person} {text(c.data)}"
        else:
            line = _labelled(c, labels, person) if c.key in LABELLED else summary(c)
        append(
            (
                c.position,
                c.at,
                c.aggregate_id,
                c.aggregate,
                c.key,
                c.actor,
                c.on_behalf_of,
                where[0],
                where[1],
                c.correlation_id,
                line,
                why(c),
            )
        )
    return rows
