"""Real ``gateledger serve`` processes on the tests' PostgreSQL (``DATABASE_URL``, a
schema of the test's own), configured through the environment as an operator would."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from api.settings import Settings
from eventstore.checkpoints import load_or_create_key
from tests.e2e.server import SECRET, Server


def start(database_url: str, schema: str, data_dir: Path, **env: str) -> Server:
    """``gateledger serve`` on a free port; ``env``: GATELEDGER_* settings, without the
    prefix (``RATE_COMMANDS="5"``). Its output goes to ``data_dir/serve-<port>.log``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "GATELEDGER"))}
    base |= {
        "DATABASE_URL": database_url,
        "GATELEDGER_SCHEMA": schema,
        "GATELEDGER_DATA_DIR": str(data_dir),
        "GATELEDGER_JWT_SECRET": SECRET,
        "GATELEDGER_ESCALATION": "off",
    }
    base |= {f"GATELEDGER_{name}": value for name, value in env.items()}
    port = free_port()
    log = data_dir / f"serve-{port}.log"
    command = [str(Path(sys.executable).parent / "gateledger"), "serve", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=base, stdout=out, stderr=subprocess.STDOUT)
    return Server(process, data_dir, port, log)


@contextlib.contextmanager
def serving(database_url: str, schema: str, data_dir: Path, n: int, **env: str) -> Iterator[list]:
    """``n`` servers on one store, healthy; stopped (SIGTERM) afterwards. They share
    one checkpoint key, made first, as every server of a store must (servers that start
    at once on a folder without one would each make their own)."""
    load_or_create_key(Settings(data_dir=data_dir).checkpoint_key_path)
    servers = [start(database_url, schema, data_dir, **env) for _ in range(n)]
    try:
        for server in servers:
            server.wait_healthy()
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(30)
            except subprocess.TimeoutExpired:
                server.process.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
