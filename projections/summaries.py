"""One readable line per event for the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.changes import Change


def _who(c: Change) -> str:
    actor = c.actor or "system"
    return f"{actor} for {c.on_behalf_of}" if c.on_behalf_of else actor


def _get(c: Change, key: str, default: Any = "") -> Any:
    value = c.data.get(key, default)
    return getattr(value, "value", value)


_TEMPLATES: dict[str, Callable[[Change], str]] = {
    "Portfolio.Created": lambda c: f"{_who(c)} created portfolio '{_get(c, 'name')}'",
    "Portfolio.BoardChanged": lambda c: f"{_who(c)} changed the board",
    "Project.Created": lambda c: f"{_who(c)} created project '{_get(c, 'name')}'",
    "Project.ReviewRequested": lambda c: f"{_who(c)} requested the {_get(c, 'gate')} review",
    "Project.EvidenceAmended": lambda c: f"{_who(c)} amended the {_get(c, 'gate')} evidence",
    "Project.VoteCast": lambda c: f"{_who(c)} voted {_get(c, 'vote')} on {_get(c, 'gate')}",
    "Project.VoteChanged": lambda c: (
        f"{_who(c)} changed their {_get(c, 'gate')} vote to {_get(c, 'vote')}"
    ),
    "Project.GateDecided": lambda c: (
        f"{_who(c)} decided {_get(c, 'decision')} at {_get(c, 'gate')}"
    ),
    "Project.ConditionClosed": lambda c: f"{_who(c)} closed a condition",
    "Project.Cancelled": lambda c: f"{_who(c)} cancelled the project: {_get(c, 'reason')}",
    "Project.PutOnHold": lambda c: f"{_who(c)} put the project on hold",
    "Project.Resumed": lambda c: f"{_who(c)} resumed the project",
    "Project.Rebaselined": lambda c: f"{_who(c)} re-baselined the project",
    "Project.ChangeApplied": lambda c: (
        f"{_who(c)} re-baselined the project after an approved "
        f"change ({c.data['cost_delta'].amount:+} {c.data['cost_delta'].currency}, "
        f"{c.data['schedule_delta_days']:+} days)"
    ),
    "Project.Escalated": lambda c: f"{_who(c)} escalated overdue {_get(c, 'item')}",
    "ChangeRequest.Created": lambda c: (
        f"{_who(c)} drafted change request '{c.data['impact'].title}'"
    ),
    "ChangeRequest.Submitted": lambda c: (
        f"{_who(c)} submitted the change request, routed to the {_get(c, 'route')}"
    ),
    "ChangeRequest.VoteCast": lambda c: f"{_who(c)} voted {_get(c, 'vote')} on a change request",
    "ChangeRequest.Decided": lambda c: (
        f"{_who(c)} decided {_get(c, 'decision')} on a change request"
    ),
    "ChangeRequest.Escalated": lambda c: f"{_who(c)} escalated overdue {_get(c, 'item')}",
    "SignOff.Requested": lambda c: (
        f"{_who(c)} requested sign-off of '{_get(c, 'deliverable')}' v{_get(c, 'version')}"
    ),
    "SignOff.Signed": lambda c: f"{_who(c)} signed off",
    "SignOff.Declined": lambda c: f"{_who(c)} declined to sign off: {_get(c, 'comment')}",
    "SignOff.Escalated": lambda c: f"{_who(c)} escalated overdue {_get(c, 'item')}",
    "Delegation.Delegated": lambda c: (
        f"{_who(c)} delegated authority to {c.data['delegation'].delegate}"
    ),
    "Delegation.Revoked": lambda c: f"{_who(c)} revoked a delegation",
}


def summarise(change: Change) -> str:
    """A short sentence an auditor can read."""
    key = change.key
    template = _TEMPLATES.get(key)
    if template is not None:
        return template(change)
    role = _get(change, "role")
    person = _get(change, "person")
    if change.event in ("RoleAssigned", "RoleRevoked"):
        verb = "assigned" if change.event == "RoleAssigned" else "revoked"
        return f"{_who(change)} {verb} role {role} for {person}"
    words = "".join(" " + ch.lower() if ch.isupper() else ch for ch in change.event).strip()
    return f"{_who(change)}: {change.aggregate} {words}"
