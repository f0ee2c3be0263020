"""How each event changes the documents of portfolios and projects (a fold: plain JSON
per aggregate, kept by the read models that show them and by the inbox).

Documents are plain JSON (strings for decimals and dates) so they store as jsonb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.project import CLOSED_STAGE
from projections.engine.events import Change

Doc = dict[str, Any]


@dataclass
class Batch:
    """The documents one batch touches, and which of them changed."""

    portfolios: dict[UUID, Doc] = field(default_factory=dict)
    projects: dict[UUID, Doc] = field(default_factory=dict)
    subjects: dict[UUID, Doc] = field(default_factory=dict)
    dirty_portfolios: set[UUID] = field(default_factory=set)
    dirty_projects: set[UUID] = field(default_factory=set)
    dirty_subjects: set[UUID] = field(default_factory=set)
    bulk: bool = False  # a rebuild's: every document is written at the end anyway

    def touch_related(self, key: str, value: UUID) -> None:
        """Mark the projects and subjects whose ``key`` is ``value`` as changed: their
        inbox items depend on what just changed (a board, a project's roles)."""
        if self.bulk:
            return
        text = str(value)
        if key == "portfolio_id":
            self.dirty_projects.update(
                pid for pid, d in self.projects.items() if d["portfolio_id"] == text
            )
        self.dirty_subjects.update(sid for sid, d in self.subjects.items() if d.get(key) == text)

    def project(self, c: Change) -> Doc | None:
        """The project document the change is about, stamped with its version and time."""
        return self._stamped(self.projects, self.dirty_projects, c)

    def subject(self, c: Change) -> Doc | None:
        """The change request or sign-off document, stamped likewise."""
        return self._stamped(self.subjects, self.dirty_subjects, c)

    def _stamped(self, docs: dict[UUID, Doc], dirty: set[UUID], c: Change) -> Doc | None:
        doc = docs.get(c.aggregate_id)
        if doc is not None:
            doc["version"] = c.version
            doc["modified_at"] = c.stamp
            dirty.add(c.aggregate_id)
        return doc


def _people(c: Change) -> list[str]:
    """Who did it: the actor, and whom they acted for."""
    return [p for p in (c.actor, c.on_behalf_of) if p]


def _val(value: Any) -> Any:
    return getattr(value, "value", value)


def _gates(template: Any) -> list[Doc]:
    return [
        {
            "name": g.name,
            "title": g.title,
            "opens_stage": g.opens_stage,
            "quorum": g.policy.quorum,
            "mandatory": list(g.policy.mandatory_voters),
            "chair_must_confirm": g.policy.chair_must_confirm,
            "vote_due_days": g.vote_due_days,
            "signoffs": [s.deliverable for s in g.required_signoffs],
        }
        for g in template.gates
    ]


def _next_gate(doc: Doc) -> str | None:
    gates, passed = doc["gates"], doc["gates_passed"]
    return gates[passed]["name"] if passed < len(gates) else None


def portfolio_created(batch: Batch, c: Change) -> None:
    d = c.data
    batch.portfolios[c.aggregate_id] = {
        "name": d["name"],
        "objectives": list(d["objectives"]),
        "envelope": str(d["envelope"].amount),
        "currency": d["envelope"].currency,
        "members": list(d["board"].members),
        "chair": d["board"].chair,
        "template": f"{d['template'].name} v{d['template'].version}",
        "version": c.version,
        "created_at": c.stamp,
        "configured_by": _people(c),  # never vote or decide under it (domain.duties)
    }
    batch.dirty_portfolios.add(c.aggregate_id)


def board_changed(batch: Batch, c: Change) -> None:
    doc = batch.portfolios.get(c.aggregate_id)
    if doc is not None:
        doc.update(
            members=list(c.data["board"].members), chair=c.data["board"].chair, version=c.version
        )
        doc["configured_by"] = [*doc.get("configured_by", []), *_people(c)]
        batch.dirty_portfolios.add(c.aggregate_id)
        batch.touch_related("portfolio_id", c.aggregate_id)


def envelope_changed(batch: Batch, c: Change) -> None:
    doc = batch.portfolios.get(c.aggregate_id)
    if doc is not None:
        doc.update(envelope=str(c.data["envelope"].amount), version=c.version)
        batch.dirty_portfolios.add(c.aggregate_id)


def portfolio_template_changed(batch: Batch, c: Change) -> None:
    """The template new projects follow; whoever changed it is a configurer."""
    doc = batch.portfolios.get(c.aggregate_id)
    if doc is not None:
        t = c.data["template"]
        doc.update(template=f"{t.name} v{t.version}", version=c.version)
        doc["configured_by"] = [*doc.get("configured_by", []), *_people(c)]
        batch.dirty_portfolios.add(c.aggregate_id)
        batch.touch_related("portfolio_id", c.aggregate_id)


def portfolio_touched(batch: Batch, c: Change) -> None:
    doc = batch.portfolios.get(c.aggregate_id)
    if doc is not None:
        doc["version"] = c.version
        batch.dirty_portfolios.add(c.aggregate_id)


# Every project of a portfolio carries the same template: build its part of the
# document once per distinct template (documents share it; nothing changes it in place).
_templates: dict[bytes, tuple[list[Doc], Doc]] = {}


def _template(d: Any) -> tuple[list[Doc], Doc]:
    key = d.raw("template") if hasattr(d, "raw") else None
    found = _templates.get(key) if key is not None else None
    if found is None:
        template = d["template"]
        found = (
            _gates(template),
            {
                "quorum": template.change_policy.quorum,
                "mandatory": list(template.change_policy.mandatory_voters),
                "chair_must_confirm": template.change_policy.chair_must_confirm,
            },
        )
        if key is not None and len(_templates) < 1000:
            _templates[key] = found
    return found


def project_created(batch: Batch, c: Change) -> None:
    d = c.data
    b, t = d["baseline"], d["tolerances"]
    gates, change_policy = _template(d)
    doc: Doc = {
        "portfolio_id": str(d["portfolio_id"]),
        "name": d["name"],
        "status": "proposed",
        "stage": "Proposal",
        "pm": d["pm"],
        "sponsor": d["sponsor"],
        "stakeholders": [],
        "budget": str(b.budget.amount),
        "original_budget": str(b.budget.amount),
        "currency": b.budget.currency,
        "start": b.start.isoformat(),
        "end": b.end.isoformat(),
        "scope": b.scope,
        "cost_pct": str(t.cost_pct),
        "schedule_days": t.schedule_days,
        "approved_cost": "0",
        "approved_schedule_days": 0,
        "template": {"name": d["template"].name, "version": d["template"].version},
        "gates": gates,
        "change_policy": change_policy,
        "signoffs": [],
        "gates_passed": 0,
        "review": None,
        "conditions": [],
        "decisions": [],
        "created_position": c.position,
        "created_at": c.stamp,
        "created_by": _people(c),
    }
    batch.projects[c.aggregate_id] = doc
    batch.project(c)
    doc["next_gate"] = _next_gate(doc)


def template_migrated(batch: Batch, c: Change) -> None:
    """The project follows another template version: its gates to come and its change
    policy change; its progress (gates passed, stage) stays."""
    doc = batch.project(c)
    if doc is None:
        return
    gates, change_policy = _template(c.data)
    template = c.data["template"]
    doc.update(
        template={"name": template.name, "version": template.version},
        gates=gates,
        change_policy=change_policy,
    )
    doc["next_gate"] = _next_gate(doc)
    batch.touch_related("project_id", c.aggregate_id)


def role_assigned(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is None:
        return
    role, person = _val(c.data["role"]), c.data["person"]
    if role in ("pm", "sponsor"):
        doc[role] = person
    elif person not in doc["stakeholders"]:
        doc["stakeholders"].append(person)
    batch.touch_related("project_id", c.aggregate_id)


def role_revoked(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is not None:
        doc["stakeholders"] = [p for p in doc["stakeholders"] if p != c.data["person"]]
        batch.touch_related("project_id", c.aggregate_id)


ROLE_CHANGES = ("Project.RoleAssigned", "Project.RoleRevoked")


def _gate(doc: Doc, name: str) -> Doc:
    return next(g for g in doc["gates"] if g["name"] == name)


def review_requested(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is None:
        return
    gate = c.data["gate"]
    due = c.at.date() + timedelta(days=_gate(doc, gate)["vote_due_days"])
    doc["review"] = {
        "gate": gate,
        "requested_by": [p for p in (c.actor, c.on_behalf_of) if p],
        "requested_at": c.stamp,
        "due": due.isoformat(),
        "votes": {},
    }


def evidence_amended(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is not None and doc["review"] is not None:
        gate = doc["review"]["gate"]
        due = c.at.date() + timedelta(days=_gate(doc, gate)["vote_due_days"])
        doc["review"].update(votes={}, due=due.isoformat())


def vote_cast(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is not None and doc["review"] is not None:
        doc["review"]["votes"][c.on_behalf_of or c.actor] = _val(c.data["vote"])


def gate_decided(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is None:
        return
    gate, decision = c.data["gate"], _val(c.data["decision"])
    doc["review"] = None
    doc["decisions"].append(
        {
            "gate": gate,
            "decision": decision,
            "rationale": c.data["rationale"],
            "decided_by": {"person": c.actor, "on_behalf_of": c.on_behalf_of},
            "decided_at": c.stamp,
            "position": c.position,
            "seen_position": c.data.get("seen_position"),
            "votes": [{"voter": v.voter, "vote": _val(v.vote)} for v in c.data["votes"]],
        }
    )
    if decision in ("GO", "CONDITIONAL_GO"):
        g = _gate(doc, gate)
        doc["stage"] = g["opens_stage"]
        doc["gates_passed"] = [x["name"] for x in doc["gates"]].index(gate) + 1
        closes = c.data.get("closes")
        if closes is None:  # an event from before ``closes``: the rule of that time
            closes = g["opens_stage"] == CLOSED_STAGE
        doc["status"] = "closed" if closes else "active"
        doc["conditions"] += [
            {
                "id": str(s.id),
                "gate": gate,
                "description": s.description,
                "owner": s.owner,
                "due": s.due.isoformat(),
                "closed": False,
            }
            for s in c.data.get("conditions", ())
        ]
    elif decision == "HOLD":
        doc["status"] = "on_hold"
    elif decision == "KILL":
        doc["status"] = "cancelled"
    doc["next_gate"] = _next_gate(doc)


def condition_closed(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is not None:
        for cond in doc["conditions"]:
            if cond["id"] == str(c.data["condition_id"]):
                cond["closed"] = True


def status_to(status: str | None) -> Callable[[Batch, Change], None]:
    def handler(batch: Batch, c: Change) -> None:
        doc = batch.project(c)
        if doc is None:
            return
        if status is None:  # resumed
            doc["status"] = "active" if doc["gates_passed"] else "proposed"
        else:
            doc["status"] = status
        if status == "cancelled":
            doc["review"] = None

    return handler


def rebaselined(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is not None:
        b = c.data["baseline"]
        doc.update(
            budget=str(b.budget.amount),
            start=b.start.isoformat(),
            end=b.end.isoformat(),
            scope=b.scope,
        )


def change_applied(batch: Batch, c: Change) -> None:
    doc = batch.project(c)
    if doc is not None:
        b = c.data["baseline"]
        doc.update(budget=str(b.budget.amount), start=b.start.isoformat(), end=b.end.isoformat())
        doc["approved_cost"] = str(Decimal(doc["approved_cost"]) + c.data["cost_delta"].amount)
        doc["approved_schedule_days"] += c.data["schedule_delta_days"]


def signoff_recorded(status: str | None) -> Callable[[Batch, Change], None]:
    def handler(batch: Batch, c: Change) -> None:
        doc = batch.project(c)
        if doc is None:
            return
        doc.setdefault("signoffs", [])
        if status is None:
            s = c.data["signoff"]
            doc["signoffs"].append(
                {
                    "id": str(s.id),
                    "deliverable": s.deliverable,
                    "version": s.version,
                    "status": "open",
                }
            )
            return
        for item in doc["signoffs"]:
            if item["id"] == str(c.data["signoff_id"]):
                item["status"] = status

    return handler


def touched(batch: Batch, c: Change) -> None:
    """An event that changes nothing shown but the project's version and time."""
    batch.project(c)


def note_escalation(doc: Doc | None, c: Change) -> None:
    """An Escalated event: the (item, due) it escalated, so the inbox row of that item
    shows it and the escalation job does not pick the row up again."""
    if doc is not None:
        entry = {"item": c.data["item"], "due": str(c.data["due"])}
        if c.data.get("to"):  # EscalatedTo: whom it went to
            entry["to"] = c.data["to"]
        doc["escalations"] = [*doc.get("escalations", ()), entry]


def project_escalated(batch: Batch, c: Change) -> None:
    note_escalation(batch.project(c), c)


STATE_HANDLERS: dict[str, Callable[[Batch, Change], None]] = {
    "Portfolio.Created": portfolio_created,
    "Portfolio.BoardChanged": board_changed,
    "Portfolio.EnvelopeChanged": envelope_changed,
    "Portfolio.TemplateChanged": portfolio_template_changed,
    "Portfolio.RoleAssigned": portfolio_touched,
    "Portfolio.RoleRevoked": portfolio_touched,
    "Project.Created": project_created,
    "Project.RoleAssigned": role_assigned,
    "Project.RoleRevoked": role_revoked,
    "Project.ReviewRequested": review_requested,
    "Project.EvidenceAmended": evidence_amended,
    "Project.VoteCast": vote_cast,
    "Project.VoteChanged": vote_cast,
    "Project.GateDecided": gate_decided,
    "Project.ConditionClosed": condition_closed,
    "Project.Cancelled": status_to("cancelled"),
    "Project.PutOnHold": status_to("on_hold"),
    "Project.Resumed": status_to(None),
    "Project.Rebaselined": rebaselined,
    "Project.ChangeApplied": change_applied,
    "Project.SignOffRequested": signoff_recorded(None),
    "Project.SignOffCompleted": signoff_recorded("complete"),
    "Project.SignOffDeclined": signoff_recorded("declined"),
    "Project.SignOffSuperseded": signoff_recorded("superseded"),
    "Project.Escalated": project_escalated,
    "Project.EscalatedTo": project_escalated,
    "Project.TemplateMigrated": template_migrated,
}
