"""A TCP proxy between a server and PostgreSQL that can lose one commit's
acknowledgement.

Armed, it watches each connection's messages (the PostgreSQL wire protocol, parsed just
enough): once a client has run a statement calling the append functions
(``gl_insert_event...``), the next ReadyForQuery with status ``I`` (idle: the transaction
is over, committed) is never delivered; the proxy cuts both sides at that moment. The
append is committed in the database; the server sees its connection die in the middle
of the commit, exactly as when a network or a failover loses the reply. This holds for
an explicit transaction (its COMMIT's reply is lost) and for one statement in its own
implicit transaction (the group commit's call). It runs on its own thread (the test's
loop blocks while a server starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections.abc import Iterator

APPEND = b"gl_insert_event"
SSL_REQUEST = 80877103


class _Connection:
    """What the proxy knows of one client connection."""

    def __init__(self) -> None:
        self.statements: dict[bytes, bytes] = {}  # prepared statement name -> its SQL
        self.wrote = False  # an append was sent (while armed)
        self.startup = True  # the client's first messages have no type byte
        self.ssl_answer_pending = False  # the server's one-byte answer to SSLRequest


class CommitCutter:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.armed = threading.Event()
        self.cuts = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def _client_message(self, state: _Connection, kind: bytes, body: bytes) -> None:
        if kind == b"P":  # Parse: name, SQL
            name, _, rest = body.partition(b"\0")
            state.statements[name] = rest.partition(b"\0")[0]
        elif kind == b"B":  # Bind: portal, statement
            statement = body.split(b"\0", 2)[1]
            if APPEND in state.statements.get(statement, b"") and self.armed.is_set():
                state.wrote = True
        elif kind == b"Q" and APPEND in body and self.armed.is_set():
            state.wrote = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        state = _Connection()
        cut = asyncio.Event()

        async def upstream() -> None:
            buffer = b""
            while data := await reader.read(65536):
                buffer += data
                while True:
                    if state.startup:  # untyped: length, then a code
                        if len(buffer) < 8:
                            break
                        length, code = struct.unpack("!ii", buffer[:8])
                        if len(buffer) < length:
                            break
                        state.ssl_answer_pending = code == SSL_REQUEST
                        state.startup = code == SSL_REQUEST  # the startup message follows
                        buffer = buffer[length:]
                        continue
                    if len(buffer) < 5:
                        break
                    length = struct.unpack("!i", buffer[1:5])[0]
                    if len(buffer) < 1 + length:
                        break
                    self._client_message(state, buffer[:1], buffer[5 : 1 + length])
                    buffer = buffer[1 + length :]
                up_w.write(data)
                await up_w.drain()

        async def downstream() -> None:
            buffer = b""
            while data := await up_r.read(65536):
                buffer += data
                while True:
                    if state.ssl_answer_pending and buffer:
                        state.ssl_answer_pending = False
                        buffer = buffer[1:]
                        continue
                    if len(buffer) < 5:
                        break
                    length = struct.unpack("!i", buffer[1:5])[0]
                    if len(buffer) < 1 + length:
                        break
                    kind, body = buffer[:1], buffer[5 : 1 + length]
                    buffer = buffer[1 + length :]
                    if kind == b"Z" and body == b"I" and state.wrote:
                        self.armed.clear()
                        self.cuts += 1
                        cut.set()
                        return  # this chunk, and the committed reply in it, never arrives
                writer.write(data)
                await writer.drain()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            await asyncio.wait(
                [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        for w in (writer, up_w):
            w.transport.abort()

    @contextlib.contextmanager
    def running(self) -> Iterator[CommitCutter]:
        self._thread.start()
        self._ready.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
