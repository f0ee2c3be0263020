"""``gateledger serve``: uvicorn, stopped gracefully by SIGTERM or SIGINT (requests in
flight finish, the lifespan stops the projector and the scheduler), then the embedded
PostgreSQL let go of: stopped if this server was the last Gateledger process using it.

A signal that arrives while PostgreSQL starts is held until it is up, then the server
stops it without serving; one that interrupts the start (Ctrl-C reaches pg_ctl too)
leaves nothing running either.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

import uvicorn
from litestar import Litestar

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
        """A server for ``config``, whose app is a Gateledger app (``create_app``)."""
        app = config.app
        assert isinstance(app, Litestar), "Server.of serves a Gateledger app"
        return cls(config, on_stop=app.state.feed.close)


def serve_until_stopped(settings: Settings, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT; returns once everything it started has stopped."""
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
                return
            settings = replace(settings, database_url=embedded.url)
        if asked:
            return
        asyncio.run(_preflight(settings))
        config = uvicorn.Config(
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
        server = Server.of(config)
        if asked:
            return
        server.run()
    finally:
        if embedded is not None:
            embedded.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _preflight(settings: Settings) -> None:
    """Open the store once before serving, so that what only the database can say (a
    serving role that may not serve, an unreachable server) is one error line from
    ``gateledger`` rather than a failed application start-up."""
    from api.bootstrap import opened_store

    async with opened_store(settings, prepare_read_models=False):
        pass


def _name(signum: int) -> str:
    return signal.Signals(signum).name
