"""``gateledger set-aside list|retry``: events a read model could not apply.

A projection sets an event aside when its handler keeps failing on it, and moves on
(``projections.engine.set_aside``). ``list`` shows them; ``retry`` re-applies them after a fix.
A re-applied event runs its handler on the read model's current rows, after the later
events it missed: out of the log's order. ``gateledger rebuild <projection>`` is the other
way back: it applies every event in order with the fixed code.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

set_aside_app = typer.Typer(
    help="Events a read model could not apply: list them, re-apply them after a fix.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


@set_aside_app.command("list")
def list_(
    everything: Annotated[
        bool, typer.Option("--all", help="resolved ones too, with when they were resolved")
    ] = False,
) -> None:
    """Show the set-aside events (unresolved ones unless --all)."""
    from api.bootstrap import opened_store
    from api.cli import _settings
    from projections.engine import set_aside

    settings = _settings()

    async def run() -> list[set_aside.SetAside]:
        async with opened_store(settings) as store:
            return await set_aside.listed(store.pool, store.names, everything=everything)

    entries = asyncio.run(run())
    if not entries:
        err.print("no set-aside events" + ("" if everything else " unresolved"))
        return
    table = Table("projection", "position", "aggregate", "event", "attempts", "first failed")
    table.add_column("resolved" if everything else "error")
    for e in entries:
        last = (e.resolved_at.isoformat(timespec="seconds") if e.resolved_at else "no") + (
            f" ({e.error})" if everything and e.resolved_at is None else ""
        )
        table.add_row(
            e.projection,
            str(e.position),
            f"{e.originator_id} v{e.originator_version}",
            e.topic.rsplit(":", 1)[-1],
            str(e.attempts),
            e.first_failed_at.isoformat(timespec="seconds"),
            last if everything else e.error,
        )
    out.print(table)


@set_aside_app.command()
def retry(
    projection: Annotated[
        str | None, typer.Option(help="only this read model (governance or audit)")
    ] = None,
    position: Annotated[
        int | None, typer.Option(min=1, help="only the event at this position")
    ] = None,
) -> None:
    """Re-apply the unresolved set-aside events, in position order, to the current rows.

    Each one that applies is marked resolved; those that still fail stay set aside and the
    command exits with status 1. (Out of the log's order: the handler sees the rows as
    later events left them. For an in-order result, `gateledger rebuild <projection>`.)
    """
    from api.bootstrap import opened_store, read_models
    from api.cli import _settings
    from projections.engine import set_aside_retry
    from projections.registry import by_name

    if projection is not None:
        try:
            by_name(projection)
        except KeyError as exc:
            err.print(f"[red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
    settings = _settings()

    async def run() -> list[set_aside_retry.Retried]:
        async with opened_store(settings) as store:
            return await set_aside_retry.retry(
                store, read_models(), projection=projection, position=position
            )

    results = asyncio.run(run())
    if not results:
        err.print("nothing to retry: no unresolved set-aside event matches")
        return
    for r in results:
        what = f"{r.entry.projection} position {r.entry.position}"
        if r.error is None:
            err.print(f"[green]applied[/] {what}: resolved")
        else:
            err.print(f"[red]still failing[/] {what}: {r.error}")
    failing = sum(r.error is not None for r in results)
    if failing:
        err.print(f"[red]error:[/] {failing} of {len(results)} event(s) still set aside")
        raise typer.Exit(1)
