"""Who stops the embedded PostgreSQL: the last live Gateledger process using a server
that Gateledger started, never one started by somebody else; a process that died
without signing out does not keep it running."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventstore import embedded
from eventstore.embedded import open_embedded, running_postmaster


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's folders: PostgreSQL runs as another user when tests run as root.
    path = Path(tempfile.mkdtemp(prefix="gateledger-embedded-"))
    try:
        yield path
    finally:
        if (running := running_postmaster((path / "pgdata").resolve())) is not None:
            embedded._stop(running)
        shutil.rmtree(path, ignore_errors=True)


def test_the_last_live_user_stops_the_server_a_dead_one_is_ignored(data_dir: Path) -> None:
    first = open_embedded(data_dir)
    pgdata = first.pgdata
    postmaster = running_postmaster(pgdata)
    book = data_dir / "embedded.json"
    kept = json.loads(book.read_text())
    kept["users"].append([2**22 + 7, 1.0])  # a server killed with -9: never signed out
    book.write_text(json.dumps(kept))
    second = open_embedded(data_dir)
    assert second.url == first.url and running_postmaster(pgdata) == postmaster

    first.close()
    assert running_postmaster(pgdata) == postmaster  # the second still uses it
    second.close()
    assert running_postmaster(pgdata) is None
    assert json.loads(book.read_text()) == {"postmaster": None, "users": []}


def test_a_server_somebody_else_started_is_joined_and_left_running(data_dir: Path) -> None:
    pgdata = data_dir / "pgdata"
    pgdata.mkdir()
    embedded._start(pgdata.resolve())  # started outside Gateledger's book
    theirs = running_postmaster(pgdata.resolve())
    assert theirs is not None

    ours = open_embedded(data_dir)
    ours.close()
    assert running_postmaster(pgdata.resolve()) == theirs


def test_a_postmaster_pid_naming_another_live_process_is_stale(tmp_path: Path) -> None:
    pidfile = tmp_path / "postmaster.pid"
    pidfile.write_text("1\n/elsewhere\n")  # process 1 is alive, and not this postmaster
    assert running_postmaster(tmp_path) is None
    assert not pidfile.exists()
