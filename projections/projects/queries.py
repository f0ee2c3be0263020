"""Projects: the list with filters (cursor pagination) and one project's detail."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from domain.change_rules import tolerance_left
from domain.money import Money
from domain.policy import Tolerances
from eventstore.database import Store
from eventstore.schema import StoreNames
from projections.access import visible_ids_sql
from projections.engine.read_model import table
from projections.folds import fold_as_of
from projections.projects.model import PROJECTS


async def list_projects(
    pool: asyncpg.Pool,
    names: StoreNames,
    *,
    portfolio_id: UUID | None = None,
    stage: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int = 100,
    seen_by: tuple[str, datetime] | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Projects in creation order after the cursor; ``seen_by`` (person, time) keeps
    those the person sees (``projections.access``). Returns the page and the next
    cursor."""
    clauses: list[str] = ["created_position > $1"]
    params: list[Any] = [after]
    if seen_by is not None:
        params += list(seen_by)
        clauses.append(f"project_id IN {visible_ids_sql(names, 'project', '$2', '$3')}")
    for column, value in (("portfolio_id", portfolio_id), ("stage", stage), ("status", status)):
        if value is not None:
            params.append(value)
            clauses.append(f"{column} = ${len(params)}")
    params.append(limit + 1)
    sql = (
        f"SELECT project_id, created_position, doc FROM {table(names, PROJECTS)} "
        f"WHERE {' AND '.join(clauses)} ORDER BY created_position LIMIT ${len(params)}"
    )
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, *params)
    items = [summary(r[0], r[2]) for r in rows[:limit]]
    cursor = rows[limit - 1][1] if len(rows) > limit else None
    return items, cursor


async def project_ids_of(pool: asyncpg.Pool, names: StoreNames, portfolio_id: UUID) -> list[UUID]:
    """Every project of a portfolio, in creation order (whatever its status)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT project_id FROM {table(names, PROJECTS)} WHERE portfolio_id = $1 "
            "ORDER BY created_position",
            portfolio_id,
        )
    return [r[0] for r in rows]


async def project_detail(pool: asyncpg.Pool, names: StoreNames, project_id: UUID) -> dict | None:
    async with pool.acquire() as conn:
        doc = await conn.fetchval(
            f"SELECT doc FROM {table(names, PROJECTS)} WHERE project_id = $1", project_id
        )
    return None if doc is None else detail(project_id, doc)


def _money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def summary(project_id: UUID, doc: dict[str, Any]) -> dict[str, Any]:
    """A project in a list: the first fields of ``detail``."""
    keys = ("portfolio_id", "name", "status", "stage", "pm", "sponsor", "next_gate", "version")
    out = {"id": str(project_id), **{k: doc.get(k) for k in keys}}
    out["budget"] = _money(doc["budget"], doc["currency"])
    out["open_review"] = (doc.get("review") or {}).get("gate")
    return out


def detail(project_id: UUID, doc: dict[str, Any]) -> dict[str, Any]:
    """The project's read-model document as reads answer it (``api.answers.ProjectDetail``):
    the same shape now and ``?as_of=`` a moment."""
    currency = doc["currency"]
    out = summary(project_id, doc)
    review = doc.get("review")
    if review is not None:
        votes = [{"voter": k, "vote": v} for k, v in review["votes"].items()]
        review = {**review, "votes": votes}
    out.update(
        stakeholders=doc.get("stakeholders", []),
        original_budget=_money(doc.get("original_budget", doc["budget"]), currency),
        start=doc["start"],
        end=doc["end"],
        scope=doc["scope"],
        tolerances={"cost_pct": doc["cost_pct"], "schedule_days": doc["schedule_days"]},
        approved_changes={
            "cost": _money(doc["approved_cost"], currency),
            "schedule_days": doc["approved_schedule_days"],
        },
        tolerance_left=_tolerance_left(doc),
        template=doc.get("template"),
        gates=doc["gates"],
        change_policy=doc.get("change_policy"),
        review=review,
        conditions=doc.get("conditions", []),
        decisions=doc.get("decisions", []),
        signoffs=doc.get("signoffs", []),
        created_at=doc.get("created_at"),
        modified_at=doc.get("modified_at"),
    )
    return out


def _tolerance_left(doc: dict[str, Any]) -> dict[str, Any]:
    """Cost and schedule tolerance left, as ``domain.change_rules.route_for`` counts it."""
    currency = doc["currency"]
    original = Money(Decimal(doc.get("original_budget", doc["budget"])), currency)
    tolerances = Tolerances(Decimal(doc["cost_pct"]), doc["schedule_days"])
    cost, days = tolerance_left(
        original, tolerances, Decimal(doc["approved_cost"]), doc["approved_schedule_days"]
    )
    return {"cost": _money(str(cost), currency), "schedule_days": days}


async def project_detail_as_of(
    store: Store, project_id: UUID, *, position: int | None = None, at: datetime | None = None
) -> dict[str, Any] | None:
    """The project as it stood at a position or time: its events up to then, applied in
    memory by this read model's own handlers (nothing is written), shaped as ``detail``.
    None when it did not exist then."""
    batch, changes = await fold_as_of(store, [project_id], position=position, at=at)
    doc = batch.projects.get(project_id)
    if doc is None:
        return None
    return {**detail(project_id, doc), "as_of_position": changes[-1].position}
