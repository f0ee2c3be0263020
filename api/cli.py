"""The ``gateledger`` command line: serve, token, demo."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console

from api.settings import Settings

app = typer.Typer(help="Gateledger: governance you can audit.", no_args_is_help=True)
err = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    demo_if_empty: Annotated[
        bool, typer.Option("--demo-if-empty", help="load the demo portfolio into an empty store")
    ] = False,
) -> None:
    """Serve the HTTP API (DATABASE_URL, or the embedded PostgreSQL)."""
    import uvicorn

    from api.app import create_app

    settings = Settings.from_env(demo_if_empty=demo_if_empty)
    where = (
        "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL in {settings.data_dir}"
    )
    err.print(f"[bold]Gateledger[/] on http://{host}:{port} (API /api/v1, docs /docs) - {where}")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def token(
    person: Annotated[str, typer.Argument(help="person id, the token's 'sub'")],
    role: Annotated[
        list[str] | None, typer.Option("--role", help="global role: pmo_admin or auditor")
    ] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 8 * 3600,
) -> None:
    """Mint a signed JWT for local use; the token is printed alone on the last line."""
    from api.auth import mint_token

    settings = Settings.from_env()
    try:
        minted = mint_token(settings, person, role or [], name=name, ttl=ttl)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    err.print(f"token for {person} roles={role or []} valid {ttl}s")
    print(minted)


@app.command()
def demo() -> None:
    """Load the demo portfolio (projects at different gates) through the workflows."""
    from api.app import database_url
    from api.demo import load_demo
    from eventstore.database import open_store
    from eventstore.schema import StoreNames

    settings = Settings.from_env()

    async def run() -> None:
        store = await open_store(database_url(settings), StoreNames(schema=settings.schema))
        try:
            result = await load_demo(store)
        finally:
            await store.close()
        err.print(f"demo loaded: portfolio {result['portfolio']}")
        for label, project_id in result["projects"].items():
            err.print(f"  {label:15} project {project_id}")

    asyncio.run(run())


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
