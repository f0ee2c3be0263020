"""Read model ``portfolios``: one row per portfolio (``rm_portfolios``) with its document
(name, objectives, envelope, board, template). Folded from Portfolio events only; the
portfolio view (``projections.portfolios.queries``) adds up the ``projects`` and ``inbox``
read models' rows at read time."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventstore.schema import StoreNames
from projections.engine.read_model import table
from projections.folds.model import DocumentTable

PORTFOLIOS = "rm_portfolios"


class Portfolios(DocumentTable):
    name = "portfolios"
    table_name, kind = PORTFOLIOS, "portfolios"
    columns = ("portfolio_id", "name", "version", "doc")
    # 5: a read model of its own (was part of "governance", version 4)
    version = 5
    aggregates = frozenset({"Portfolio"})

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table(names, PORTFOLIOS, suffix)} (portfolio_id uuid "
            "PRIMARY KEY, name text NOT NULL, version int NOT NULL, doc jsonb NOT NULL)"
        ]

    def row(self, pid: UUID, d: dict[str, Any]) -> tuple[Any, ...]:
        return (pid, d["name"], d["version"], d)
