"""``gateledger serve``: uvicorn, stopped gracefully by SIGTERM or SIGINT (requests in
flight finish, the lifespan stops the projector and the scheduler), then the embedded
PostgreSQL let go of: stopped if this server was the last Gateledger process using it.

A signal that arrives while PostgreSQL starts is held until it is up, then the server
stops it without serving; one that interrupts the start (Ctrl-C reaches pg_ctl too)
leaves nothing running either.

``--workers N`` (N > 1) binds the port once and forks N worker processes that accept on
it, each a whole server (its own pool, caches and background jobs: the projector and
the webhook dispatcher elect one active worker by advisory lock, the rate limits are
in PostgreSQL). SIGTERM or SIGINT to the parent stops every worker gracefully; a worker
that exits on its own stops the others and the parent exits with an error, for the
process manager to restart the whole (no half-served port).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

import uvicorn

from api.app import create_app
from api.connections import protocol_for
from api.observability import configure_logging
from api.settings import Settings
from eventstore.embedded import Embedded, open_embedded

log = logging.getLogger(__name__)

GRACE_S = 30  # requests still running this long after a stop signal are cancelled
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Server(uvicorn.Server):
    """uvicorn's server, which first ends the app's event streams when it stops: uvicorn
    waits for every response in flight before the lifespan stops, and a stream of live
    updates never ends by itself (it would hold a stop for ``GRACE_S``)."""

    def __init__(self, config: uvicorn.Config, *, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_stop = on_stop

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.on_stop()
        await super().shutdown(sockets)

    @classmethod
    def of(cls, config: uvicorn.Config) -> Server:
        """A server for ``config``, ending the streams of its app's event feed (a
        ``create_app`` app; any other app has none to end)."""
        feed = getattr(getattr(config.app, "state", None), "feed", None)
        return cls(config, on_stop=feed.close if feed is not None else _nothing)


def _nothing() -> None:
    pass


def freeze_start_up() -> None:
    """Leave what start-up made (modules, classes, functions, the app: ~110,000 objects)
    out of the garbage collector's passes, as they live as long as the process. A full
    pass over them took ~100 ms on the 2-core box, paid by whichever request happened to
    allocate next: the requests over 50 ms in bench/pages.py (pages and API reads alike)
    had one under them; frozen, a full pass takes ~3-7 ms. Collecting first keeps
    garbage out of what is frozen."""
    gc.collect()
    gc.freeze()


def serve_until_stopped(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    """Serve until SIGTERM or SIGINT; returns once everything it started has stopped,
    with the exit status (not 0: a worker of several ended on its own)."""
    configure_logging(settings.log_format)  # each line with its request's ids
    asked: list[int] = []
    server: uvicorn.Server | None = None

    def note(signum: int, frame: FrameType | None) -> None:
        # Outside uvicorn's own handling: while PostgreSQL starts, and after serving
        # (uvicorn raises the signal again once it has stopped).
        if server is None:
            log.warning("%s while starting: stopping once PostgreSQL is up", _name(signum))
        else:  # before uvicorn handles signals itself: it starts, then stops at once
            server.should_exit = True
        asked.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in SIGNALS}
    embedded: Embedded | None = None
    try:
        if settings.database_url is None:
            try:
                embedded = open_embedded(settings.data_dir)
            except Exception:
                if not asked:
                    raise
                log.warning("interrupted while starting PostgreSQL; nothing is left running")
                return 0
            settings = replace(settings, database_url=embedded.url)
        if asked:
            return 0
        asyncio.run(_preflight(settings))
        if workers > 1:
            if settings.demo_if_empty:  # once, here, not by every worker at once
                asyncio.run(_demo_if_empty(settings))
            return _serve_workers(replace(settings, demo_if_empty=False), host, port, workers)
        server = Server.of(_config(settings, host, port))
        if asked:
            return 0
        freeze_start_up()
        server.run()
        return 0
    finally:
        if embedded is not None:
            embedded.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        log_config=None,  # uvicorn's lines go through ours (GATELEDGER_LOG_FORMAT)
        access_log=False,  # api.observability writes one access line a request
        timeout_graceful_shutdown=GRACE_S,
        http=protocol_for(settings),  # header size and count limits, timeouts
        # uvicorn types it int, but hands it to loop.call_later: decimals work
        timeout_keep_alive=settings.idle_timeout_s,  # type: ignore[arg-type]
    )


def _listening(host: str, port: int) -> socket.socket:
    """The port, bound once for every worker (as uvicorn binds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve_workers(settings: Settings, host: str, port: int, workers: int) -> int:
    """``workers`` forked servers accepting on one socket, until a signal (or a worker's
    own end, which stops the rest); returns the exit status."""
    sock = _listening(host, port)
    stop: list[int] = []
    for sig in SIGNALS:
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    children: set[int] = set()
    status = 0
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the worker, measured by its own tests
                os._exit(_worker(settings, host, port, sock))
            children.add(pid)
        log.info("serving on %s:%d with %d workers %s", host, port, workers, sorted(children))
        while children and not stop:
            pid, code = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(0.2)
                continue
            children.discard(pid)
            log.error("worker %d ended on its own (%s): stopping the others", pid, code)
            status = 1
            break
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        sock.close()
    return status


def _worker(settings: Settings, host: str, port: int, sock: socket.socket) -> int:
    """One worker: a whole server on the inherited socket; its exit status."""
    for sig in SIGNALS:  # uvicorn installs its own while it serves
        signal.signal(sig, signal.SIG_DFL)
    try:
        server = Server.of(_config(settings, host, port))
        freeze_start_up()
        server.run(sockets=[sock])
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        return 1
    return 0


async def _demo_if_empty(settings: Settings) -> None:
    from api.bootstrap import opened_store
    from api.demo import load_demo

    async with opened_store(settings) as store:
        if await store.events.max_notification_id() is None:
            await load_demo(store)


async def _preflight(settings: Settings) -> None:
    """Open the store once before serving, so that what only the database can say (a
    serving role that may not serve, an unreachable server) is one error line from
    ``gateledger`` rather than a failed application start-up."""
    from api.bootstrap import opened_store

    async with opened_store(settings, prepare_read_models=False):
        pass


def _name(signum: int) -> str:
    return signal.Signals(signum).name
