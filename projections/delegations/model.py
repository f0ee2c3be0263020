"""Read model ``delegations``: every delegation with its window, scope and whether it
was revoked (``rm_delegations``), from Delegation events. The inbox reads it to show
what is owed by someone who delegated to the caller."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import index_name, table

DELEGATIONS = "rm_delegations"


class Delegations:
    name = "delegations"
    tables = (DELEGATIONS,)
    # 5: a read model of its own (was part of "governance", version 4)
    # 6: each row keeps the position it was delegated at (the cursor of the lists)
    version = 6
    retired: tuple[str, ...] = ()

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        t = table(names, DELEGATIONS, suffix)
        return [
            f"CREATE TABLE IF NOT EXISTS {t} (delegation_id uuid PRIMARY KEY, delegator text "
            "NOT NULL, delegate text NOT NULL, starts timestamptz NOT NULL, ends timestamptz "
            "NOT NULL, portfolio_id uuid, project_id uuid, revoked boolean NOT NULL "
            "DEFAULT false, position bigint NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {index_name(DELEGATIONS, 'delegate, delegator', suffix)} "
            f"ON {t} (delegate, delegator)",
        ]

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        t = table(names, DELEGATIONS, suffix)
        for c in changes:
            if c.key == "Delegation.Delegated":
                await conn.execute(
                    f"INSERT INTO {t} (delegation_id, delegator, delegate, starts, ends, "
                    "portfolio_id, project_id, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                    "ON CONFLICT (delegation_id) DO NOTHING",
                    *_delegated(c),
                )
            elif c.key == "Delegation.Revoked":
                await conn.execute(
                    f"UPDATE {t} SET revoked = true WHERE delegation_id = $1",
                    c.data["delegation_id"],
                )


def _delegated(c: Change) -> tuple[Any, ...]:
    """The delegation's row: its book's owner (the actor, in person) delegated it."""
    d = c.data["delegation"]
    return (d.id, c.actor, d.delegate, d.starts, d.ends, d.portfolio_id, d.project_id, c.position)
