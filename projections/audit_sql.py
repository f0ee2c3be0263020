"""The audit trail computed by PostgreSQL straight from the events table.

One ``INSERT ... SELECT`` per batch (or one for a whole rebuild): the stored state is
JSON, so the database extracts actor, scope and a readable summary itself, on its own
core, with no decoding in Python. Value objects are tagged as the transcoder writes
them: ``{"__t": "dc", "c": topic, "v": {fields}}``, enums ``{"__t": "enum", "v": ...}``,
UUIDs ``{"__t": "uuid", "v": hex}``.
"""

from __future__ import annotations

from eventstore.schema import StoreNames
from projections.changes import AGGREGATE_NAMES

# Short names for JSON paths inside the event state ``j``.
_BY = "j->'by'->'v'"
_WHO = f"coalesce({_BY}->>'person', 'system') || coalesce(' for ' || ({_BY}->>'on_behalf_of'), '')"


def _s(key: str) -> str:
    return f"coalesce(j->>'{key}', '')"


def _enum(key: str) -> str:
    return f"coalesce(j->'{key}'->>'v', '')"


def _signed(expr: str) -> str:
    return f"(CASE WHEN left({expr}, 1) = '-' THEN '' ELSE '+' END || {expr})"


_COST = "(j->'cost_delta'->'v'->'amount'->>'v')"
_DAYS = "(j->>'schedule_delta_days')"

# type -> SQL text after "<who> "
_SUMMARIES: dict[str, str] = {
    "Portfolio.Created": f"'created portfolio ''' || {_s('name')} || ''''",
    "Portfolio.BoardChanged": "'changed the board'",
    "Project.Created": f"'created project ''' || {_s('name')} || ''''",
    "Project.ReviewRequested": f"'requested the ' || {_s('gate')} || ' review'",
    "Project.EvidenceAmended": f"'amended the ' || {_s('gate')} || ' evidence'",
    "Project.VoteCast": f"'voted ' || {_enum('vote')} || ' on ' || {_s('gate')}",
    "Project.VoteChanged": (f"'changed their ' || {_s('gate')} || ' vote to ' || {_enum('vote')}"),
    "Project.GateDecided": f"'decided ' || {_enum('decision')} || ' at ' || {_s('gate')}",
    "Project.ConditionClosed": "'closed a condition'",
    "Project.Cancelled": f"'cancelled the project: ' || {_s('reason')}",
    "Project.PutOnHold": "'put the project on hold'",
    "Project.Resumed": "'resumed the project'",
    "Project.Rebaselined": "'re-baselined the project'",
    "Project.ChangeApplied": (
        f"'re-baselined the project after an approved change (' || {_signed(_COST)} || ' ' "
        f"|| coalesce(j->'cost_delta'->'v'->>'currency', '') || ', ' || {_signed(_DAYS)} "
        "|| ' days)'"
    ),
    "Project.Escalated": f"'escalated overdue ' || {_s('item')}",
    "ChangeRequest.Created": (
        "'drafted change request ''' || coalesce(j->'impact'->'v'->>'title', '') || ''''"
    ),
    "ChangeRequest.Submitted": (
        f"'submitted the change request, routed to the ' || {_enum('route')}"
    ),
    "ChangeRequest.VoteCast": f"'voted ' || {_enum('vote')} || ' on a change request'",
    "ChangeRequest.Decided": f"'decided ' || {_enum('decision')} || ' on a change request'",
    "ChangeRequest.Escalated": f"'escalated overdue ' || {_s('item')}",
    "SignOff.Requested": (
        f"'requested sign-off of ''' || {_s('deliverable')} || ''' v' || {_s('version')}"
    ),
    "SignOff.Signed": "'signed off'",
    "SignOff.Declined": f"'declined to sign off: ' || {_s('comment')}",
    "SignOff.Escalated": f"'escalated overdue ' || {_s('item')}",
    "Delegation.Delegated": (
        "'delegated authority to ' || coalesce(j->'delegation'->'v'->>'delegate', '')"
    ),
    "Delegation.Revoked": "'revoked a delegation'",
    "Project.RoleAssigned": f"'assigned role ' || {_enum('role')} || ' for ' || {_s('person')}",
    "Project.RoleRevoked": f"'revoked role ' || {_enum('role')} || ' for ' || {_s('person')}",
    "Portfolio.RoleAssigned": (f"'assigned role ' || {_enum('role')} || ' for ' || {_s('person')}"),
    "Portfolio.RoleRevoked": f"'revoked role ' || {_enum('role')} || ' for ' || {_s('person')}",
}

_FALLBACK = "': ' || x.agg || ' ' || lower(regexp_replace(x.ev, '([a-z])([A-Z])', '\\1 \\2', 'g'))"


def summary_sql() -> str:
    """A CASE over the event type giving the readable line (``x.kind`` is the type)."""
    cases = " ".join(
        f"WHEN '{kind}' THEN {_WHO} || ' ' || {text}" for kind, text in _SUMMARIES.items()
    )
    return f"CASE x.kind {cases} ELSE {_WHO} || {_FALLBACK} END"


def _aggregate_sql() -> str:
    """The aggregate's name from the topic's class, as ``Change.aggregate`` maps it."""
    cls = "split_part(split_part(e.topic, ':', 2), '.', 1)"
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in AGGREGATE_NAMES.items())
    return f"CASE {cls} {cases} ELSE {cls} END"


def insert_project_scope_sql(names: StoreNames, scope: str) -> str:
    """Each project's portfolio, from its creation, into ``scope`` (only creation events
    name the portfolio; the audit rows of later events look it up there)."""
    return (
        f"INSERT INTO {scope} (project_id, portfolio_id) "
        "SELECT e.originator_id, "
        "(convert_from(e.state, 'UTF8')::jsonb->'portfolio_id'->>'v')::uuid "
        f"FROM {names.q(names.events)} e "
        "WHERE e.notification_id > $1 AND e.notification_id <= $2 "
        "AND e.originator_version = 1 AND split_part(e.topic, ':', 2) = 'Project.Created' "
        "ON CONFLICT (project_id) DO NOTHING"
    )


def insert_audit_rows_sql(names: StoreNames, target: str, scope: str) -> str:
    """Rows for events with ``$1 < notification_id <= $2`` into ``target``."""
    return (
        f"INSERT INTO {target} (position, at, aggregate_id, aggregate_type, type, actor, "
        "on_behalf_of, project_id, portfolio_id, correlation_id, summary) "
        "SELECT e.notification_id, (j->'timestamp'->>'v')::timestamptz, e.originator_id, "
        f"x.agg, x.kind, {_BY}->>'person', {_BY}->>'on_behalf_of', "
        "CASE WHEN x.agg = 'Project' THEN e.originator_id "
        "WHEN x.agg = 'Portfolio' THEN NULL ELSE (j->'project_id'->>'v')::uuid END, "
        "CASE WHEN x.agg = 'Portfolio' THEN e.originator_id "
        "WHEN x.agg = 'Project' THEN sc.portfolio_id "
        "ELSE (j->'portfolio_id'->>'v')::uuid END, "
        f"{_BY}->>'correlation_id', {summary_sql()} "
        f"FROM {names.q(names.events)} e "
        "CROSS JOIN LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS j OFFSET 0) s "
        f"CROSS JOIN LATERAL (SELECT {_aggregate_sql()} AS agg, "
        "split_part(split_part(e.topic, ':', 2), '.', 2) AS ev) y "
        "CROSS JOIN LATERAL (SELECT y.agg, y.ev, y.agg || '.' || y.ev AS kind) x "
        f"LEFT JOIN {scope} sc ON sc.project_id = e.originator_id "
        "WHERE e.notification_id > $1 AND e.notification_id <= $2"
    )
