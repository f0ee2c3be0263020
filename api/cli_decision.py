"""``gateledger decision PROJECT_ID GATE N``: what the deciders saw, as the API's
``GET /projects/{id}/gates/{gate}/decisions/{n}`` answers it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import msgspec
import typer
from rich.console import Console

if TYPE_CHECKING:
    from api.answers import DecisionContext, Money

err = Console(stderr=True)


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


async def _context(settings: Any, project_id: UUID, gate: str, n: int) -> DecisionContext:
    """The answer, or exit 1 naming what does not exist (the project, or its decision)."""
    from api.answers import DecisionContext, typed
    from api.bootstrap import opened_store
    from api.cli import _caught_up
    from projections.projects.decisions import decision_context
    from projections.projects.model import Projects
    from projections.requests.model import Requests

    async with opened_store(settings) as store:
        # the portfolio totals are found through the projects and requests read models:
        # bring them to the end of the log first (a running server's are awaited)
        await _caught_up(store, models=[Projects(), Requests()])
        found = await decision_context(store, project_id, gate, n)
        if found is None:
            known = await store.events.select_originator_notifications(project_id, limit=1)
            if not known:
                raise _fail(f"no project {project_id}", 1)
            raise _fail(f"project {project_id} has no decision {n} on gate {gate!r}", 1)
    context: DecisionContext = typed(found, DecisionContext)
    return context


def _money(m: Money) -> str:
    return f"{m.amount} {m.currency}"


def _lines(c: DecisionContext) -> list[str]:
    d, r = c.decision, c.review
    by = d.decided_by.person + (
        f" for {d.decided_by.on_behalf_of}" if d.decided_by.on_behalf_of else ""
    )
    lines = [
        f"decision {c.n} on {c.gate} of project {c.project_id}: {d.decision}",
        f"  by {by} at {d.decided_at.isoformat()} (position {d.position}, "
        f"saw position {d.seen_position})",
        f"  rationale: {d.rationale}",
        *(f"  condition: {x.description} (owner {x.owner}, due {x.due})" for x in d.conditions),
        f"review requested by {r.requested_by.person} at {r.requested_at.isoformat()}",
        *(f"  evidence: {e.title} {e.link} {e.content_hash}" for e in r.evidence),
    ]
    for v in r.votes:
        who = f"{v.cast_by} for {v.on_behalf_of}" if v.on_behalf_of else v.voter
        lines.append(f"  vote: {who}: {v.vote}: {v.rationale}")
    lines += [
        f"  open condition: {x.description} (owner {x.owner}, due {x.due})"
        for x in c.open_conditions
    ] or ["  open conditions: none"]
    if c.project is not None:
        p = c.project
        lines.append(
            f"project as seen (position {p.as_of_position}): {p.status}, stage {p.stage}, "
            f"budget {_money(p.budget)}, tolerances {p.tolerances.cost_pct}% / "
            f"{p.tolerances.schedule_days} days"
        )
    if c.portfolio is not None:
        b = c.portfolio.budget
        lines.append(
            f"portfolio {c.portfolio.name}: {c.portfolio.projects.total} projects, envelope "
            f"{_money(b.envelope)}, committed {_money(b.committed)}, released "
            f"{_money(b.released)}, closed {_money(b.closed)}, remaining {_money(b.remaining)}"
            + (" (overrun)" if b.overrun else "")
        )
    return lines


def register(app: typer.Typer, settings_of: Any) -> None:
    """Add ``decision`` to the ``gateledger`` app."""

    @app.command()
    def decision(
        project_id: Annotated[str, typer.Argument(help="the project's id")],
        gate: Annotated[str, typer.Argument(help="the gate, as G0")],
        n: Annotated[int, typer.Argument(help="the n-th decision on that gate, from 1")],
        as_json: Annotated[
            bool, typer.Option("--json", help="print the API's JSON answer")
        ] = False,
    ) -> None:
        """What the deciders saw: the decision, the review it closed (evidence, votes and
        who cast them), open conditions, the project and the portfolio's totals at the
        position they saw. Exit 1 when the project or the decision does not exist."""
        try:
            project = UUID(project_id)
        except ValueError:
            raise _fail(f"PROJECT_ID {project_id!r} is not a UUID", 2) from None
        if not 1 <= n <= 10_000 or not 1 <= len(gate) <= 50:
            raise _fail("N must be 1 to 10000 and GATE a gate's name", 2)
        context = asyncio.run(_context(settings_of(), project, gate, n))
        if as_json:
            print(msgspec.json.encode(context).decode())
        else:
            print("\n".join(_lines(context)))
