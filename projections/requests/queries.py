"""Change requests and sign-off requests as read models (``rm_subjects``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.read_model import table
from projections.requests.model import SUBJECTS


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
    pool: asyncpg.Pool,
    names: StoreNames,
    project_id: UUID,
    kind: str,
    *,
    after: int = 0,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int | None]:
    """A project's change requests or sign-offs, oldest first, a page after the cursor
    (an offset); returns the page and the next cursor."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT subject_id, doc FROM {table(names, SUBJECTS)} WHERE project_id = $1 "
            "AND kind = $2 ORDER BY doc->>'created_at', subject_id OFFSET $3 LIMIT $4",
            project_id,
            kind,
            after,
            limit + 1,
        )
    items = [shown(r[0], r[1]) for r in rows[:limit]]
    return items, (after + limit if len(rows) > limit else None)


# Kept in the documents for the inbox (which escalations happened), not part of reads.
INTERNAL = ("escalations",)


def shown(subject_id: UUID, doc: dict[str, Any]) -> dict[str, Any]:
    """A change request's or sign-off's document as reads answer it."""
    return {"id": str(subject_id), **{k: v for k, v in doc.items() if k not in INTERNAL}}
