"""Read model ``requests``: change requests and sign-off requests, one row each
(``rm_subjects``: kind, project, portfolio, version, document). Folded from ChangeRequest
and SignOff events only."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventstore.schema import StoreNames
from projections.engine.read_model import index_name, table
from projections.folds.model import DocumentTable

SUBJECTS = "rm_subjects"
COLUMNS = ("subject_id", "kind", "project_id", "portfolio_id", "version", "doc")


class Requests(DocumentTable):
    name = "requests"
    table_name, columns, kind = SUBJECTS, COLUMNS, "subjects"
    # 5: a read model of its own (was part of "governance", version 4)
    version = 5
    aggregates = frozenset({"ChangeRequest", "SignOff"})

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        t = table(names, SUBJECTS, suffix)
        return [
            f"CREATE TABLE IF NOT EXISTS {t} (subject_id uuid PRIMARY KEY, kind text NOT NULL, "
            "project_id uuid, portfolio_id uuid, version int NOT NULL, doc jsonb NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {index_name(SUBJECTS, 'project_id', suffix)} "
            f"ON {t} (project_id)",
            f"CREATE INDEX IF NOT EXISTS {index_name(SUBJECTS, 'portfolio_id', suffix)} "
            f"ON {t} (portfolio_id)",
        ]

    def row(self, sid: UUID, d: dict[str, Any]) -> tuple[Any, ...]:
        project = UUID(d["project_id"]) if d.get("project_id") else None
        portfolio = UUID(d["portfolio_id"]) if d.get("portfolio_id") else None
        return (sid, d["kind"], project, portfolio, d["version"], d)
