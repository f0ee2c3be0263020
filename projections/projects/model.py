"""Read model ``projects``: one row per project (``rm_projects``), its document and the
typed columns the project list filters and sorts by. Folded from Project events only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventstore.schema import StoreNames
from projections.engine.read_model import index_name, table
from projections.folds.model import DocumentTable

PROJECTS = "rm_projects"

COLUMNS = (
    "project_id",
    "portfolio_id",
    "name",
    "status",
    "stage",
    "pm",
    "sponsor",
    "budget",
    "currency",
    "approved_cost",
    "approved_schedule_days",
    "next_gate",
    "version",
    "created_position",
    "updated_at",
    "doc",
)


class Projects(DocumentTable):
    name = "projects"
    table_name, columns, kind = PROJECTS, COLUMNS, "projects"
    # 5: a read model of its own (was part of "governance", version 4)
    # 6: each project's document names its template version (and follows a migration)
    version = 6
    aggregates = frozenset({"Project"})

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        t = table(names, PROJECTS, suffix)

        def ix(cols: str) -> str:
            return (
                f"CREATE INDEX IF NOT EXISTS {index_name(PROJECTS, cols, suffix)} ON {t} ({cols})"
            )

        return [
            f"CREATE TABLE IF NOT EXISTS {t} (project_id uuid PRIMARY KEY, portfolio_id uuid "
            "NOT NULL, name text NOT NULL, status text NOT NULL, stage text NOT NULL, pm text, "
            "sponsor text, budget numeric NOT NULL, currency text NOT NULL, approved_cost "
            "numeric NOT NULL, approved_schedule_days int NOT NULL, next_gate text, version int "
            "NOT NULL, created_position bigint NOT NULL, updated_at timestamptz NOT NULL, "
            "doc jsonb NOT NULL)",
            ix("portfolio_id, created_position"),
            ix("status, created_position"),
            ix("stage, created_position"),
            ix("created_position"),
        ]

    def row(self, pid: UUID, d: dict[str, Any]) -> tuple[Any, ...]:
        return (
            pid,
            UUID(d["portfolio_id"]),
            d["name"],
            d["status"],
            d["stage"],
            d["pm"],
            d["sponsor"],
            Decimal(d["budget"]),
            d["currency"],
            Decimal(d["approved_cost"]),
            d["approved_schedule_days"],
            d["next_gate"],
            d["version"],
            d["created_position"],
            datetime.fromisoformat(d["modified_at"]),
            d,
        )
