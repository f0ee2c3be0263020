"""Projection ``access``: who holds which role where, as recorded in the log.

Three tables, kept for the one authorisation point (``api.access``):

- ``rm_access_objects``: every portfolio, project, change request and sign-off, with its
  kind and the portfolio and project it belongs to;
- ``rm_access_roles``: (person, scope, role) where the scope is a portfolio (board
  member, chair, a portfolio role) or a project (PM, sponsor, stakeholder, signatory,
  change-request submitter, condition owner);
- ``rm_access_delegations``: delegations, with their window and scope, so a delegate
  sees what the delegator sees, within the scope, while the delegation is active.

A person sees an object when they hold a role on its project or on its portfolio, or
an active delegation to them from someone who does covers it (``visible_sql``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import index_name, table

OBJECTS, ROLES, DELEGATIONS = "rm_access_objects", "rm_access_roles", "rm_access_delegations"

# The kinds of object the API names by id.
PORTFOLIO, PROJECT, CHANGE_REQUEST, SIGNOFF = "portfolio", "project", "change_request", "signoff"

Statement = tuple[str, tuple[Any, ...]]


def _val(value: Any) -> Any:
    return getattr(value, "value", value)


class Access:
    name = "access"
    tables = (OBJECTS, ROLES, DELEGATIONS)
    version = 1
    retired: tuple[str, ...] = ()

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        ob, ro = table(names, OBJECTS, suffix), table(names, ROLES, suffix)
        dl = table(names, DELEGATIONS, suffix)
        return [
            f"CREATE TABLE IF NOT EXISTS {ob} (object_id uuid PRIMARY KEY, kind text NOT NULL, "
            "portfolio_id uuid, project_id uuid, created_position bigint NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {index_name(OBJECTS, 'kind', suffix)} ON {ob} "
            "(kind, created_position)",
            f"CREATE TABLE IF NOT EXISTS {ro} (scope_id uuid NOT NULL, person text NOT NULL, "
            "role text NOT NULL, PRIMARY KEY (scope_id, person, role))",
            f"CREATE INDEX IF NOT EXISTS {index_name(ROLES, 'person', suffix)} ON {ro} "
            "(person, scope_id)",
            f"CREATE TABLE IF NOT EXISTS {dl} (delegation_id uuid PRIMARY KEY, delegator text "
            "NOT NULL, delegate text NOT NULL, starts timestamptz NOT NULL, ends timestamptz "
            "NOT NULL, portfolio_id uuid, project_id uuid, revoked boolean NOT NULL "
            "DEFAULT false)",
            f"CREATE INDEX IF NOT EXISTS {index_name(DELEGATIONS, 'delegate', suffix)} ON {dl} "
            "(delegate)",
        ]

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        statements: list[Statement] = []
        t = _Tables(names, suffix)
        for change in changes:
            handler = HANDLERS.get(change.type)
            if handler is not None:
                statements.extend(handler(t, change))
        await _run(conn, statements)


class _Tables:
    def __init__(self, names: StoreNames, suffix: str) -> None:
        self.objects = table(names, OBJECTS, suffix)
        self.roles = table(names, ROLES, suffix)
        self.delegations = table(names, DELEGATIONS, suffix)

    def new_object(self, c: Change, kind: str, portfolio: Any, project: Any) -> Statement:
        return (
            f"INSERT INTO {self.objects} VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (object_id) DO NOTHING",
            (c.aggregate_id, kind, portfolio, project, c.position),
        )

    def grant(self, scope: Any, person: str, role: str) -> Statement:
        return (
            f"INSERT INTO {self.roles} VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            (scope, person, role),
        )

    def revoke(self, scope: Any, person: str, role: str) -> Statement:
        return (
            f"DELETE FROM {self.roles} WHERE scope_id = $1 AND person = $2 AND role = $3",
            (scope, person, role),
        )

    def revoke_role(self, scope: Any, role: str) -> Statement:
        return (f"DELETE FROM {self.roles} WHERE scope_id = $1 AND role = $2", (scope, role))


def _board(t: _Tables, scope: UUID, board: Any) -> list[Statement]:
    return [
        t.revoke_role(scope, "board"),
        t.revoke_role(scope, "chair"),
        *(t.grant(scope, member, "board") for member in board.members),
        t.grant(scope, board.chair, "chair"),
    ]


def portfolio_created(t: _Tables, c: Change) -> list[Statement]:
    pid = c.aggregate_id
    return [t.new_object(c, PORTFOLIO, pid, None), *_board(t, pid, c.data["board"])]


def board_changed(t: _Tables, c: Change) -> list[Statement]:
    return _board(t, c.aggregate_id, c.data["board"])


def role_assigned(t: _Tables, c: Change) -> list[Statement]:
    role, person = _val(c.data["role"]), c.data["person"]
    out = []
    if c.aggregate == "Project" and role in ("pm", "sponsor"):  # one holder at a time
        out.append(t.revoke_role(c.aggregate_id, role))
    return [*out, t.grant(c.aggregate_id, person, role)]


def role_revoked(t: _Tables, c: Change) -> list[Statement]:
    return [t.revoke(c.aggregate_id, c.data["person"], _val(c.data["role"]))]


def project_created(t: _Tables, c: Change) -> list[Statement]:
    d, pid = c.data, c.aggregate_id
    return [
        t.new_object(c, PROJECT, d["portfolio_id"], pid),
        t.grant(pid, d["pm"], "pm"),
        t.grant(pid, d["sponsor"], "sponsor"),
    ]


def gate_decided(t: _Tables, c: Change) -> list[Statement]:
    conditions = c.data.get("conditions", ()) if hasattr(c.data, "get") else ()
    return [t.grant(c.aggregate_id, s.owner, "condition_owner") for s in conditions or ()]


def change_request_created(t: _Tables, c: Change) -> list[Statement]:
    d = c.data
    submitter = c.on_behalf_of or c.actor
    out = [t.new_object(c, CHANGE_REQUEST, d["portfolio_id"], d["project_id"])]
    if submitter:
        out.append(t.grant(d["project_id"], submitter, "submitter"))
    return out


def signoff_requested(t: _Tables, c: Change) -> list[Statement]:
    d = c.data
    return [
        t.new_object(c, SIGNOFF, d["portfolio_id"], d["project_id"]),
        *(t.grant(d["project_id"], person, "signatory") for person in d["signatories"]),
    ]


def delegated(t: _Tables, c: Change) -> list[Statement]:
    d = c.data["delegation"]
    return [
        (
            f"INSERT INTO {t.delegations} VALUES ($1, $2, $3, $4, $5, $6, $7, false) "
            "ON CONFLICT (delegation_id) DO NOTHING",
            (d.id, c.actor, d.delegate, d.starts, d.ends, d.portfolio_id, d.project_id),
        )
    ]


def delegation_revoked(t: _Tables, c: Change) -> list[Statement]:
    return [
        (
            f"UPDATE {t.delegations} SET revoked = true WHERE delegation_id = $1",
            (c.data["delegation_id"],),
        )
    ]


HANDLERS = {
    "Portfolio.Created": portfolio_created,
    "Portfolio.BoardChanged": board_changed,
    "Portfolio.RoleAssigned": role_assigned,
    "Portfolio.RoleRevoked": role_revoked,
    "Project.Created": project_created,
    "Project.RoleAssigned": role_assigned,
    "Project.RoleRevoked": role_revoked,
    "Project.GateDecided": gate_decided,
    "ChangeRequest.Created": change_request_created,
    "SignOff.Requested": signoff_requested,
    "Delegation.Delegated": delegated,
    "Delegation.Revoked": delegation_revoked,
}


async def _run(conn: asyncpg.Connection, statements: list[Statement]) -> None:
    """In order; runs of one statement go as one executemany."""
    i = 0
    while i < len(statements):
        sql = statements[i][0]
        j = i
        while j < len(statements) and statements[j][0] == sql:
            j += 1
        if j - i == 1:
            await conn.execute(sql, *statements[i][1])
        else:
            await conn.executemany(sql, [s[1] for s in statements[i:j]])
        i = j


# -- queries -----------------------------------------------------------------------------


def visible_sql(names: StoreNames, obj: str, person: str, at: str) -> str:
    """A condition on the objects row ``obj``: ``person`` (a SQL parameter) sees it at the
    time ``at`` (a parameter): a role on its project or portfolio, held by the person
    or by someone whose active delegation to them covers the object."""
    ro, dl = table(names, ROLES), table(names, DELEGATIONS)
    scopes = f"r.scope_id IN ({obj}.project_id, {obj}.portfolio_id)"
    return (
        f"(EXISTS (SELECT 1 FROM {ro} r WHERE r.person = {person} AND {scopes}) "
        f"OR EXISTS (SELECT 1 FROM {dl} d JOIN {ro} r ON r.person = d.delegator "
        f"WHERE d.delegate = {person} AND NOT d.revoked AND d.starts <= {at} "
        f"AND d.ends > {at} AND (d.portfolio_id IS NULL OR d.portfolio_id = {obj}.portfolio_id) "
        f"AND (d.project_id IS NULL OR d.project_id = {obj}.project_id) AND {scopes}))"
    )


def visible_ids_sql(names: StoreNames, kind: str, person: str, at: str) -> str:
    """A subquery: the ids of the objects of ``kind`` the person sees."""
    ob = table(names, OBJECTS)
    return (
        f"(SELECT o.object_id FROM {ob} o WHERE o.kind = '{kind}' "
        f"AND {visible_sql(names, 'o', person, at)})"
    )


async def sees(
    pool: asyncpg.Pool, names: StoreNames, person: str, object_id: UUID, kind: str, at: datetime
) -> bool:
    """Whether the person sees the object of this kind (False if it is another kind)."""
    ob = table(names, OBJECTS)
    async with pool.acquire() as conn:
        found = await conn.fetchval(
            f"SELECT {visible_sql(names, 'o', '$1', '$4')} FROM {ob} o "
            "WHERE o.object_id = $2 AND o.kind = $3",
            person,
            object_id,
            kind,
            at,
        )
    return bool(found)


async def roles_of(pool: asyncpg.Pool, names: StoreNames, person: str) -> list[tuple[UUID, str]]:
    """(scope, role) of every role the person holds in their own name."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT scope_id, role FROM {table(names, ROLES)} WHERE person = $1 "
            "ORDER BY scope_id, role",
            person,
        )
    return [(r[0], r[1]) for r in rows]
