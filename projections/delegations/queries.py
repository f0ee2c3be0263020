"""The caller's own delegations, given or received, a page at a time (by position)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import asyncpg

from eventstore.schema import StoreNames
from projections.delegations.model import DELEGATIONS
from projections.engine.read_model import table

Direction = Literal["given", "received"]


async def delegations_of(
    pool: asyncpg.Pool,
    names: StoreNames,
    person: str,
    direction: Direction,
    now: datetime,
    *,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    """``person``'s delegations (as delegator or delegate) recorded after ``after``, in
    the order recorded; ``status`` says whether each grants anything at ``now``."""
    column = "delegator" if direction == "given" else "delegate"
    rows = await pool.fetch(
        f"SELECT * FROM {table(names, DELEGATIONS)} WHERE {column} = $1 AND position > $2 "
        "ORDER BY position LIMIT $3",
        person,
        after,
        limit,
    )
    return [_item(r, now) for r in rows]


def _item(r: asyncpg.Record, now: datetime) -> dict[str, Any]:
    if r["revoked"]:
        status = "revoked"
    elif r["ends"] <= now:
        status = "expired"
    elif r["starts"] > now:
        status = "upcoming"
    else:
        status = "active"
    return {
        "id": r["delegation_id"],
        "delegator": r["delegator"],
        "delegate": r["delegate"],
        "starts": r["starts"],
        "ends": r["ends"],
        "portfolio_id": r["portfolio_id"],
        "project_id": r["project_id"],
        "status": status,
        "position": r["position"],
    }


async def delegator_of(pool: asyncpg.Pool, names: StoreNames, delegation_id: Any) -> str | None:
    """Who gave the delegation, or None if there is no such delegation."""
    found: str | None = await pool.fetchval(
        f"SELECT delegator FROM {table(names, DELEGATIONS)} WHERE delegation_id = $1",
        delegation_id,
    )
    return found
