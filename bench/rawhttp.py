"""A lean HTTP/1.1 client for load: keep-alive connections, JSON bodies, nothing else.

The benchmark's clients share the server's two cores. httpx spent 3-11 ms of CPU per
command (more than the server itself at 32 clients and up), so the load generator,
not the server, set the rate. This client writes a request in one ``write`` and reads
the status line, headers and a ``Content-Length`` body: about a tenth of that. It is
for benchmarks only (no TLS, no chunked bodies, no redirects).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

IDLE_S = 4.0  # reuse a kept connection only below the server's keep-alive timeout (5 s)


class RawError(Exception):
    """The connection failed or the answer could not be read."""


class RawResponse:
    """Status and body of one answer."""

    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return msgspec.json.decode(self.content)


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]


class RawClient:
    """Keep-alive connections to one host and port, reused one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[_Conn] = []
        self._encoder = msgspec.json.Encoder()

    async def post(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> RawResponse:
        body = b"" if json is None else self._encoder.encode(json)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if json is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        reader, writer = await self._connection()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, close = _head(head)
            content = await reader.readexactly(length) if length else b""
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            writer.close()
            raise RawError(f"{type(exc).__name__}: {exc}") from exc
        if close:
            writer.close()
        else:
            self._idle.append((reader, writer, time.monotonic()))
        return RawResponse(status, content)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        now = time.monotonic()
        while self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < IDLE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def aclose(self) -> None:
        """Close every kept connection."""
        while self._idle:
            _, writer, _ = self._idle.pop()
            writer.close()


def _head(head: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, whether the server closes) of a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"transfer-encoding":
            raise RawError("chunked answers are not supported by this client")
    return status, length, close
