"""The live feed's reads: the audit trail's rows after a position, as far as the audit
projection has applied the log, and which of them a person may see.

Live updates (``GET /events/stream``) and outbound webhooks read the audit trail rather
than the log itself: its rows already carry the canonical type, the project and
portfolio an event belongs to and a line in plain words. A position is final once the
audit projection's tracking row has passed it (rows and position commit together), so
a reader that stops at ``tracked_position`` never skips a row that commits later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from eventstore.schema import StoreNames
from projections.access import visible_sql
from projections.audit.model import TABLE
from projections.engine.read_model import table

NAME = "audit"  # the projection whose rows these are
ACCESS = "access"  # the projection that says who sees them
COLUMNS = (
    "position",
    "at",
    "aggregate_id",
    "aggregate_type",
    "type",
    "actor",
    "on_behalf_of",
    "project_id",
    "portfolio_id",
    "summary",
)


async def tracked_position(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames, *, visibility: bool = False
) -> int:
    """The position the audit trail holds every event up to; with ``visibility``, the
    position up to which the access model also holds them (who sees an event is judged
    on the roles it records, which the access projection may apply a moment later)."""
    wanted = [NAME, ACCESS] if visibility else [NAME]
    rows = await conn.fetch(
        f"SELECT application_name, notification_id FROM {names.q(names.tracking)} "
        "WHERE application_name = ANY($1::text[])",
        wanted,
    )
    found = {r[0]: r[1] for r in rows}
    return min(int(found.get(n) or 0) for n in wanted)


def _select(names: StoreNames) -> str:
    return f"SELECT {', '.join('a.' + c for c in COLUMNS)} FROM {table(names, TABLE)} a"


async def rows_between(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames, after: int, upto: int, limit: int
) -> list[dict[str, Any]]:
    """Rows with ``after < position <= upto``, in position order, at most ``limit``."""
    rows = await conn.fetch(
        f"{_select(names)} WHERE a.position > $1 AND a.position <= $2 ORDER BY a.position LIMIT $3",
        after,
        upto,
        limit,
    )
    return [dict(r) for r in rows]


def _seen_by(names: StoreNames, person: str, at: str) -> str:
    """A condition on row ``a``: the person sees its project or portfolio (a role there,
    or an active delegation covering it), or acted in it themselves, or for someone."""
    own = f"a.actor = {person} OR a.on_behalf_of = {person}"
    return f"({visible_sql(names, 'a', person, at)} OR {own})"


async def visible_rows_between(
    conn: asyncpg.Connection | asyncpg.Pool,
    names: StoreNames,
    person: str,
    at: datetime,
    after: int,
    upto: int,
    limit: int,
) -> list[dict[str, Any]]:
    """As ``rows_between``, only those ``person`` may see at ``at``."""
    rows = await conn.fetch(
        f"{_select(names)} WHERE a.position > $3 AND a.position <= $4 "
        f"AND {_seen_by(names, '$1', '$2')} ORDER BY a.position LIMIT $5",
        person,
        at,
        after,
        upto,
        limit,
    )
    return [dict(r) for r in rows]


async def visible_positions(
    conn: asyncpg.Connection | asyncpg.Pool,
    names: StoreNames,
    person: str,
    at: datetime,
    after: int,
    upto: int,
) -> set[int]:
    """The positions in ``(after, upto]`` whose rows ``person`` may see at ``at``."""
    rows = await conn.fetch(
        f"SELECT a.position FROM {table(names, TABLE)} a WHERE a.position > $3 "
        f"AND a.position <= $4 AND {_seen_by(names, '$1', '$2')}",
        person,
        at,
        after,
        upto,
    )
    return {r[0] for r in rows}
