"""A real ``gateledger serve`` process on an embedded PostgreSQL in a folder of its own
(never ``DATABASE_URL``), and what the tests ask of it: health, commands, PostgreSQL
processes left behind."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.auth import mint_token
from api.settings import Settings

SECRET = "e2e-secret-" + "x" * 40
ADMIN = mint_token(Settings(jwt_secret=SECRET), "admin", ["pmo_admin"])
PORTFOLIO = {
    "name": "Digital",
    "objectives": ["Modernise channels"],
    "envelope": {"amount": "5000000.00", "currency": "EUR"},
    "board": {"members": ["carol", "dave", "erin"], "chair": "carol"},
}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    log: Path

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited:\n{self.output()}"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.api}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            time.sleep(0.1)
        raise AssertionError(f"no healthy server after {timeout}s:\n{self.output()}")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api + path, data=data, method=method, headers=_headers(len(data or b""))
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def exit_code(self, timeout: float = 40) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"still running after {timeout}s:\n{self.output()}") from None


def _headers(length: int) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {ADMIN}",
        "Content-Type": "application/json",
        "Content-Length": str(length),
    }


def start(data_dir: Path, log: Path) -> Server:
    """``gateledger serve`` on a free port, its output in ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "GATELEDGER"))}
    env |= {
        "GATELEDGER_DATA_DIR": str(data_dir),
        "GATELEDGER_JWT_SECRET": SECRET,
        "GATELEDGER_ESCALATION": "off",
    }
    port = _free_port()
    command = [str(Path(sys.executable).parent / "gateledger"), "serve", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(process, data_dir, port, log)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_processes(data_dir: Path) -> list[int]:
    """Processes whose command line names this data folder's ``pgdata`` (a postmaster)."""
    pgdata = str((data_dir / "pgdata").resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if pgdata in (entry / "cmdline").read_bytes().split(b"\0"):
                    if _state(entry) != "Z":
                        found.append(int(entry.name))
    return found


def _state(entry: Path) -> str:
    return (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has)."""
    try:
        return _state(Path(f"/proc/{pid}")) != "Z"
    except OSError:
        return False


def postmaster_pid(data_dir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((data_dir / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])
    return None


def send_half_a_command(server: Server) -> tuple[socket.socket, bytes]:
    """A command whose headers and first half of body reached the server: in flight.
    Returns the socket and the rest of the body, to be sent later."""
    body = json.dumps(PORTFOLIO).encode()
    head = f"POST /api/v1/portfolios HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in _headers(len(body)).items()
    )
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    conn.sendall(head.encode() + b"\r\n" + body[:20])
    return conn, body[20:]


def read_answer(conn: socket.socket) -> tuple[int, Any]:
    """The status and JSON body of the one answer on ``conn`` (read until it closes)."""
    raw = b""
    while chunk := conn.recv(65536):
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return status, json.loads(body)


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, body = out + rest[:n], rest[n + 2 :]
    return out
