"""Read model ``templates``: one row per published version of a library template
(``rm_templates``), with the version as a document and who published it, when and why.
From Template events only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from eventstore.schema import StoreNames
from projections.engine.events import Change
from projections.engine.read_model import table

TEMPLATES = "rm_templates"
KEYS = ("Template.Created", "Template.Published")


class Templates:
    name = "templates"
    tables = (TEMPLATES,)
    version = 1  # raise it whenever the tables' layout or content changes
    retired: tuple[str, ...] = ()

    def ddl(self, names: StoreNames, suffix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table(names, TEMPLATES, suffix)} (name text NOT NULL, "
            "version int NOT NULL, template_id uuid NOT NULL, doc jsonb NOT NULL, reason text "
            "NOT NULL, actor text, on_behalf_of text, at timestamptz NOT NULL, position bigint "
            "NOT NULL, PRIMARY KEY (name, version))"
        ]

    async def apply(
        self, conn: asyncpg.Connection, names: StoreNames, changes: Sequence[Change], suffix: str
    ) -> None:
        rows = [_row(c) for c in changes if c.key in KEYS]
        if rows:
            await conn.executemany(
                f"INSERT INTO {table(names, TEMPLATES, suffix)} VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name, version) DO NOTHING",
                rows,
            )


def _row(c: Change) -> tuple[Any, ...]:
    template = c.data["template"]
    return (
        template.name,
        template.version,
        c.aggregate_id,
        template_doc(template),
        c.data["reason"],
        c.actor,
        c.on_behalf_of,
        c.at,
        c.position,
    )


def template_doc(template: Any) -> dict[str, Any]:
    """A template version as plain JSON, in the shape the project answer shows gates."""
    change = template.change_policy
    return {
        "gates": [
            {
                "name": g.name,
                "title": g.title,
                "opens_stage": g.opens_stage,
                "quorum": g.policy.quorum,
                "mandatory": list(g.policy.mandatory_voters),
                "chair_must_confirm": g.policy.chair_must_confirm,
                "vote_due_days": g.vote_due_days,
                "signoffs": [s.deliverable for s in g.required_signoffs],
                "required_signoffs": [
                    {"deliverable": s.deliverable, "signer_role": s.signer_role, "signer": s.signer}
                    for s in g.required_signoffs
                ],
            }
            for g in template.gates
        ],
        "change_policy": {
            "quorum": change.quorum,
            "mandatory": list(change.mandatory_voters),
            "chair_must_confirm": change.chair_must_confirm,
        },
        "cr_decision_days": template.cr_decision_days,
        "signoff_due_days": template.signoff_due_days,
    }
