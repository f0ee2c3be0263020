"""``gateledger serve`` stops cleanly on SIGTERM and SIGINT (a command in flight
finishes, the embedded PostgreSQL it started stops with it), whatever phase the signal
finds it in, and a server killed with -9 restarts on the same folder with its data."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.server import (
    PORTFOLIO,
    Server,
    is_running,
    postgres_processes,
    postmaster_pid,
    read_answer,
    send_half_a_command,
    start,
)


def assert_nothing_left(server: Server, postmaster: int | None) -> None:
    assert postgres_processes(server.data_dir) == [], server.output()
    assert not (server.data_dir / "pgdata" / "postmaster.pid").exists()
    if postmaster is not None:
        assert not is_running(postmaster)


def test_sigterm_finishes_the_command_in_flight_then_stops_postgresql(
    data_dir: Path, tmp_path: Path
) -> None:
    server = start(data_dir, tmp_path / "serve.log")
    server.wait_healthy()
    postmaster = postmaster_pid(server.data_dir)
    assert postmaster in postgres_processes(server.data_dir)
    conn, rest = send_half_a_command(server)
    time.sleep(0.3)  # the headers are read: the request is in flight
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the server is shutting down, waiting for the request
    conn.sendall(rest)
    status, answer = read_answer(conn)
    assert status == 201, answer
    assert server.exit_code() == 0, server.output()
    assert_nothing_left(server, postmaster)

    again = start(server.data_dir, tmp_path / "again.log")  # the command was kept
    again.wait_healthy()
    status, portfolio = again.call(
        "GET", f"/portfolios/{answer['id']}?min_position={answer['position']}"
    )
    assert (status, portfolio["name"]) == (200, PORTFOLIO["name"])
    again.process.send_signal(signal.SIGTERM)
    assert again.exit_code() == 0


def test_sigint_stops_the_server_and_its_postgresql(data_dir: Path, tmp_path: Path) -> None:
    server = start(data_dir, tmp_path / "serve.log")
    server.wait_healthy()
    postmaster = postmaster_pid(server.data_dir)
    server.process.send_signal(signal.SIGINT)
    assert server.exit_code() == 0, server.output()
    assert "Traceback" not in server.output()
    assert_nothing_left(server, postmaster)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_postgresql_starts_leaves_nothing_running(
    data_dir: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    server = start(data_dir, tmp_path / "serve.log")
    pgdata = server.data_dir / "pgdata"
    deadline = time.monotonic() + 30
    while not pgdata.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pgdata.exists() and server.process.poll() is None, server.output()
    server.process.send_signal(sig)  # initdb or pg_ctl start is running now
    assert server.exit_code() == 0, server.output()
    assert "while starting" in server.output()
    assert "Uvicorn running" not in server.output()
    assert_nothing_left(server, None)


def test_a_server_killed_with_9_restarts_on_its_folder_with_its_data(
    data_dir: Path, tmp_path: Path
) -> None:
    server = start(data_dir, tmp_path / "serve.log")
    server.wait_healthy()
    status, created = server.call("POST", "/portfolios", PORTFOLIO)
    assert status == 201, created
    postmaster = postmaster_pid(server.data_dir)
    server.process.kill()
    assert server.process.wait(10) == -signal.SIGKILL
    assert postgres_processes(server.data_dir) == [postmaster]  # orphaned, still running

    again = start(server.data_dir, tmp_path / "again.log")
    again.wait_healthy()
    status, portfolio = again.call(
        "GET", f"/portfolios/{created['id']}?min_position={created['position']}"
    )
    assert (status, portfolio["name"]) == (200, PORTFOLIO["name"])
    assert postmaster_pid(again.data_dir) == postmaster  # reused, not started twice
    again.process.send_signal(signal.SIGTERM)
    assert again.exit_code() == 0, again.output()
    assert_nothing_left(again, postmaster)  # the last Gateledger user stopped it


def test_a_stale_postmaster_pid_does_not_stop_a_restart(data_dir: Path, tmp_path: Path) -> None:
    """Server and PostgreSQL both killed (a power cut): postmaster.pid stays behind, and
    may name a live process that is not PostgreSQL."""
    server = start(data_dir, tmp_path / "serve.log")
    server.wait_healthy()
    server.process.send_signal(signal.SIGTERM)
    assert server.exit_code() == 0
    pidfile = server.data_dir / "pgdata" / "postmaster.pid"
    pidfile.write_text(f"{os.getpid()}\n{server.data_dir / 'pgdata'}\n0\n5432\n\n\n\nready\n")

    again = start(server.data_dir, tmp_path / "again.log")
    again.wait_healthy()
    assert postmaster_pid(again.data_dir) != os.getpid()
    again.process.send_signal(signal.SIGTERM)
    assert again.exit_code() == 0, again.output()
    assert_nothing_left(again, None)
