"""Read model ``inbox``: what each person owes (``rm_inbox``: one row per person and
item: a vote, a decision, a sign-off, an open condition), with due dates and whether
it was escalated.

Who owes what depends on every document of a portfolio, its projects and their change
and sign-off requests (boards, roles, open reviews, votes), so the inbox keeps its own
copy of those documents (``rm_inbox_docs``), folded by the same handlers as the
read models that show them (``projections.folds``). Each batch loads the documents it
touches (a board change reaches every project and request of its portfolio, a role
change every request of its project), folds the events, writes back the changed ones
and recomputes the rows of every touched subject (``projections.inbox.rules``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import index_name, table
from projections.folds.documents import ROLE_CHANGES, Batch
from projections.folds.model import FoldedModel, copy_rows
from projections.inbox.rules import inbox_items

INBOX, DOCS = "rm_inbox", "rm_inbox_docs"
INBOX_COLUMNS = (
    "subject_id",
    "person",
    "kind",
    "project_id",
    "portfolio_id",
    "title",
    "due",
    "since",
    "escalated",
)
DOC_COLUMNS = ("id", "kind", "portfolio_id", "project_id", "doc")


class Inbox(FoldedModel):
    name = "inbox"
    tables = (INBOX, DOCS)
    # 5: a read model of its own with its own documents (was part of "governance" v4:
    # inbox rows follow boards and roles, say whether escalated, and follow domain.seats)
    # 6: open conditions in their owners' inboxes (kind "condition", by condition id)
    # 7: escalated items in their recipient's inbox (kind "escalated")
    version = 7
    aggregates = frozenset({"Portfolio", "Project", "ChangeRequest", "SignOff"})

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        ib, dc = table(names, INBOX, suffix), table(names, DOCS, suffix)

        def ix(base: str, t: str, cols: str) -> str:
            return f"CREATE INDEX IF NOT EXISTS {index_name(base, cols, suffix)} ON {t} ({cols})"

        return [
            f"CREATE TABLE IF NOT EXISTS {dc} (id uuid PRIMARY KEY, kind text NOT NULL, "
            "portfolio_id uuid, project_id uuid, doc jsonb NOT NULL)",
            ix(DOCS, dc, "portfolio_id"),
            ix(DOCS, dc, "project_id"),
            f"CREATE TABLE IF NOT EXISTS {ib} (subject_id uuid NOT NULL, person text NOT NULL, "
            "kind text NOT NULL, project_id uuid, portfolio_id uuid, title text NOT NULL, "
            "due date, since timestamptz NOT NULL, escalated boolean NOT NULL DEFAULT false, "
            "PRIMARY KEY (subject_id, person, kind))",
            ix(INBOX, ib, "person, due"),
            ix(INBOX, ib, "portfolio_id, due"),
            ix(INBOX, ib, "project_id"),
        ]

    async def load(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        changes: Sequence[Change],
        batch: Batch,
    ) -> None:
        """Every document the batch touches or needs to say who owes what."""
        dc = table(names, DOCS, suffix)
        ids = {c.aggregate_id for c in changes}
        boards = {c.aggregate_id for c in changes if c.key == "Portfolio.BoardChanged"}
        roles = {c.aggregate_id for c in changes if c.key in ROLE_CHANGES}
        found = await _docs(conn, dc, "id", ids)
        # a board change reaches its portfolio's projects and requests, a role change
        # its project's requests
        found += await _docs(conn, dc, "portfolio_id", boards)
        found += await _docs(conn, dc, "project_id", roles)
        _sort(batch, found)
        project_ids = {c.data["project_id"] for c in changes if "project_id" in c.data}
        project_ids |= {UUID(d["project_id"]) for d in batch.subjects.values()}
        _sort(batch, await _docs(conn, dc, "id", project_ids - set(batch.projects)))
        portfolio_ids = {c.data["portfolio_id"] for c in changes if "portfolio_id" in c.data}
        portfolio_ids |= {UUID(d["portfolio_id"]) for d in batch.projects.values()}
        _sort(batch, await _docs(conn, dc, "id", portfolio_ids - set(batch.portfolios)))

    async def write(
        self,
        conn: asyncpg.Connection,
        names: StoreNames,
        suffix: str,
        batch: Batch,
        *,
        fresh: bool = False,
    ) -> None:
        """The changed documents and the inbox rows of every touched subject."""
        if fresh:
            batch.dirty_portfolios.update(batch.portfolios)
            batch.dirty_projects.update(batch.projects)
            batch.dirty_subjects.update(batch.subjects)
        docs = [
            *(_doc_row(i, "portfolio", batch.portfolios[i]) for i in batch.dirty_portfolios),
            *(_doc_row(i, "project", batch.projects[i]) for i in batch.dirty_projects),
            *(_doc_row(i, d["kind"], d) for i, d in _dirty(batch.subjects, batch.dirty_subjects)),
        ]
        if fresh:
            await copy_rows(conn, names, DOCS, suffix, docs, DOC_COLUMNS)
        elif docs:
            await conn.executemany(
                f"INSERT INTO {table(names, DOCS, suffix)} VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc",
                docs,
            )
        touched = list(batch.dirty_projects | batch.dirty_subjects)
        if not touched:
            return
        if not fresh:
            await conn.execute(
                f"DELETE FROM {table(names, INBOX, suffix)} WHERE subject_id = ANY($1::uuid[]) "
                "OR (kind = 'condition' AND project_id = ANY($1::uuid[]))",
                touched,
            )
        items = [item for sid in touched for item in inbox_items(batch, sid)]
        await copy_rows(conn, names, INBOX, suffix, items, INBOX_COLUMNS)


async def _docs(
    conn: asyncpg.Connection, t: str, column: str, ids: set[Any]
) -> list[asyncpg.Record]:
    if not ids:
        return []
    return await conn.fetch(
        f"SELECT id, kind, doc FROM {t} WHERE {column} = ANY($1::uuid[])", list(ids)
    )


def _sort(batch: Batch, rows: list[asyncpg.Record]) -> None:
    for object_id, kind, doc in rows:
        docs = (
            batch.portfolios
            if kind == "portfolio"
            else batch.projects
            if kind == "project"
            else batch.subjects
        )
        docs.setdefault(object_id, doc)


def _dirty(docs: dict[UUID, Any], dirty: set[UUID]) -> list[tuple[UUID, Any]]:
    return [(i, docs[i]) for i in dirty]


def _doc_row(object_id: UUID, kind: str, d: dict[str, Any]) -> tuple[Any, ...]:
    portfolio = d.get("portfolio_id")
    project = d.get("project_id")
    return (
        object_id,
        kind,
        object_id if kind == "portfolio" else UUID(portfolio) if portfolio else None,
        object_id if kind == "project" else UUID(project) if project else None,
        d,
    )
