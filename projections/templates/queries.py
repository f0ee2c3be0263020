"""The template library: its templates (each with its latest version) a page at a time,
in the order they were created, and the versions of one template."""

from __future__ import annotations

from typing import Any

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.read_model import table
from projections.templates.model import TEMPLATES


async def templates(
    pool: asyncpg.Pool, names: StoreNames, *, after: int, limit: int
) -> list[dict[str, Any]]:
    """Each template created after position ``after``, with its latest version, in the
    order created."""
    t = table(names, TEMPLATES)
    rows = await pool.fetch(
        f"SELECT latest.*, first.actor AS created_by, first.on_behalf_of AS created_for, "
        f"first.at AS created_at, first.position AS created_position FROM {t} first "
        f"CROSS JOIN LATERAL (SELECT * FROM {t} WHERE name = first.name ORDER BY version DESC "
        "LIMIT 1) latest WHERE first.version = 1 AND first.position > $1 "
        "ORDER BY first.position LIMIT $2",
        after,
        limit,
    )
    return [_summary(r) for r in rows]


async def versions_of(pool: asyncpg.Pool, names: StoreNames, name: str) -> list[dict[str, Any]]:
    """Every version of the template ``name``, oldest first (none: no such template)."""
    rows = await pool.fetch(
        f"SELECT * FROM {table(names, TEMPLATES)} WHERE name = $1 ORDER BY version", name
    )
    return [_version(r) for r in rows]


async def version_of(
    pool: asyncpg.Pool, names: StoreNames, name: str, version: int
) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"SELECT * FROM {table(names, TEMPLATES)} WHERE name = $1 AND version = $2",
        name,
        version,
    )
    return None if row is None else _version(row)


def _by(person: str | None, for_whom: str | None) -> dict[str, Any]:
    return {"person": person, "on_behalf_of": for_whom}


def _published(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "reason": r["reason"],
        "published_by": _by(r["actor"], r["on_behalf_of"]),
        "published_at": r["at"],
        "position": r["position"],
    }


def _summary(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "name": r["name"],
        "latest_version": r["version"],
        "gates": [g["name"] for g in r["doc"]["gates"]],
        **_published(r),
        "created_by": _by(r["created_by"], r["created_for"]),
        "created_at": r["created_at"],
        "created_position": r["created_position"],
    }


def _version(r: asyncpg.Record) -> dict[str, Any]:
    return {"name": r["name"], "version": r["version"], **r["doc"], **_published(r)}
