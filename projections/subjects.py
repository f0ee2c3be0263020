"""Change requests and sign-off requests as read models (``rm_subjects``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.base import table
from projections.governance_state import SUBJECTS


async def subject(
    pool: asyncpg.Pool, names: StoreNames, subject_id: UUID, kind: str
) -> dict[str, Any] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT version, doc FROM {table(names, SUBJECTS)} WHERE subject_id = $1 "
            "AND kind = $2",
            subject_id,
            kind,
        )
    return None if row is None else shown(subject_id, row["doc"])


async def subjects_of_project(
    pool: asyncpg.Pool, names: StoreNames, project_id: UUID, kind: str
) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT subject_id, doc FROM {table(names, SUBJECTS)} WHERE project_id = $1 "
            "AND kind = $2 ORDER BY doc->>'created_at'",
            project_id,
            kind,
        )
    return [shown(r[0], r[1]) for r in rows]


# Kept in the documents for the inbox (which escalations happened), not part of reads.
INTERNAL = ("escalations",)


def shown(subject_id: UUID, doc: dict[str, Any]) -> dict[str, Any]:
    """A change request's or sign-off's document as reads answer it."""
    return {"id": str(subject_id), **{k: v for k, v in doc.items() if k not in INTERNAL}}
