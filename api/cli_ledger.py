"""``gateledger verify``, ``checkpoint``, ``checkpoints`` and ``public-key``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from api.settings import Settings
    from eventstore.checkpoints import Checkpoint, CheckpointKey
    from eventstore.database import Store

err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def _key(settings: Settings, *, create: bool = False) -> CheckpointKey:
    """The checkpoint key; only ``checkpoint`` may make one (as the server does): for a
    check, a new key would only fail every stored checkpoint."""
    from eventstore.checkpoints import load_key, load_or_create_key

    try:
        return (load_or_create_key if create else load_key)(settings.checkpoint_key_path)
    except (OSError, ValueError) as exc:
        raise _fail(f"checkpoint key: {exc}") from None


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[Store]:
    """The settings' store, as it is: checking the record needs no read model. A schema
    holding no log is exit 1 (a mistyped GATELEDGER_SCHEMA verified "intact: 0 events",
    and was created, tables and all)."""
    from api.bootstrap import NoLog, opened_store, require_log

    try:
        await require_log(settings)
    except NoLog as exc:
        raise _fail(str(exc), 1) from None
    async with opened_store(settings, prepare_read_models=False) as store:
        yield store


def _read_checkpoint_file(path: Path) -> tuple[str, list[Checkpoint]]:
    """``(log id, checkpoints)`` of a file written by ``gateledger checkpoints -o`` or
    saved from GET /audit/checkpoints (or one checkpoint, or a list of them)."""
    from eventstore.checkpoints import checkpoint_from_json

    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise _fail(f"cannot read checkpoints from {path}: {exc}") from None
    items = data.get("checkpoints", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise _fail(f"{path} holds no checkpoint")
    try:
        parsed = [checkpoint_from_json(item) for item in items]
    except ValueError as exc:
        raise _fail(f"{path}: {exc}") from None
    ids = {lid for lid, _ in parsed}
    if len(ids) != 1:
        raise _fail(f"{path} mixes checkpoints of several logs: {sorted(ids)}")
    return ids.pop(), [cp for _, cp in parsed]


async def _verify(
    settings: Settings, start: str, files: list[Path], as_json: bool
) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from eventstore.checkpoints import find_start, list_checkpoints, log_id
    from eventstore.verify import verify_chain

    key = _key(settings)
    outside = [_read_checkpoint_file(f) for f in files]
    async with _store(settings) as store:
        lid = await log_id(store.pool, store.names)
        for (file_lid, _), f in zip(outside, files, strict=True):
            if file_lid != lid:
                raise _fail(f"{f} holds checkpoints of log {file_lid}; this store is log {lid}")
        try:
            begin = find_start(await list_checkpoints(store.pool, store.names), start)
        except ValueError as exc:
            raise _fail(f"--{exc}") from None
        with Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            disable=as_json or not err.is_terminal,
        ) as bar:
            task = bar.add_task("verify", total=None)
            report = await verify_chain(
                store.pool,
                store.names,
                public_key=key.private.public_key(),
                outside=[cp for _, cps in outside for cp in cps],
                start=begin,
                progress=lambda done, end: bar.update(task, completed=done, total=end),
            )
    return report.to_json()


def register(app: typer.Typer, settings_of: Any) -> None:
    """Add the tamper-evidence commands to the ``gateledger`` app."""

    @app.command()
    def verify(
        start: Annotated[
            str, typer.Option(help="0 (the whole log), latest, or a checkpoint's position")
        ] = "0",
        checkpoints: Annotated[
            list[Path] | None,
            typer.Option("--checkpoints", help="checkpoint file kept outside the database"),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    ) -> None:
        """Recompute the hash chain; exit 0 if intact, 1 with the first bad position."""
        if start not in ("0", "latest") and not start.isdigit():
            raise _fail(f"--start must be 0, latest or a checkpoint's position, not {start!r}")
        settings = settings_of()
        report = asyncio.run(_verify(settings, start, checkpoints or [], as_json))
        if as_json:
            print(json.dumps(report))
        elif report["status"] == "intact":
            err.print(
                f"[green]intact[/]: {report['checked']:,} events from position "
                f"{report['from_position']} to {report['head_position']}, "
                f"{report['checkpoints_checked']} checkpoints match; head {report['head_hash']}"
            )
        else:
            err.print(
                f"[red]BROKEN[/] at position {report['first_bad_position']}: {report['detail']}"
            )
        if report["chained_late"] and not as_json:
            spans = ", ".join(f"{r['from']}-{r['to']}" for r in report["chained_late"])
            err.print(f"chained after they were written (attested from then on): {spans}")
        raise typer.Exit(0 if report["status"] == "intact" else 1)

    @app.command()
    def checkpoint() -> None:
        """Sign the chain's head now; prints the checkpoint as JSON."""
        from eventstore.checkpoints import CheckpointRefused, log_id, take_checkpoint

        settings = settings_of()
        key = _key(settings, create=True)

        async def run() -> dict[str, Any] | None:
            async with _store(settings) as store:
                try:
                    cp = await take_checkpoint(store.pool, store.names, key)
                except CheckpointRefused as exc:
                    raise _fail(str(exc), 1) from None
                return None if cp is None else cp.to_json(await log_id(store.pool, store.names))

        taken = asyncio.run(run())
        if taken is None:
            raise _fail("the log is empty: there is no head to sign", 1)
        print(json.dumps(taken))

    @app.command(name="checkpoints")
    def checkpoints_(
        output: Annotated[str, typer.Option("--output", "-o", help="file (default stdout)")] = "-",
    ) -> None:
        """Write every checkpoint and the public key: the file auditors keep outside."""
        from eventstore.checkpoints import checkpoint_file

        if output != "-" and (Path(output).is_dir() or not Path(output).parent.is_dir()):
            raise _fail(f"cannot write {output}: not a file in an existing folder")
        settings = settings_of()
        key = _key(settings)

        async def run() -> dict[str, Any]:
            async with _store(settings) as store:
                return await checkpoint_file(store.pool, store.names, key)

        text = json.dumps(asyncio.run(run()), indent=1) + "\n"
        try:
            if output == "-":
                sys.stdout.write(text)
            else:
                Path(output).write_text(text)
        except OSError as exc:
            raise _fail(f"cannot write {output}: {exc.strerror or exc}", 1) from None
        if output != "-":
            err.print(f"checkpoints written to {output}")

    @app.command(name="public-key")
    def public_key(
        pem: Annotated[bool, typer.Option("--pem", help="PEM instead of hex")] = False,
    ) -> None:
        """Print the public key that signs checkpoints (hex, or PEM)."""
        key = _key(settings_of())
        print(key.public_pem().strip() if pem else key.public_raw.hex())
