"""Connection limits that uvicorn lacks, as its HTTP protocol (``gateledger serve``
passes ``protocol_for(settings)`` to uvicorn as ``http=``).

uvicorn's httptools protocol (the one ``auto`` picks) keeps a connection that never
sends a byte forever (its keep-alive timer starts only after a first answer), lets a
client send headers one byte at a time forever, or a body one byte a minute, and
buffers a request line and header fields of any size (httptools joins a header's parts
as they come). Here each connection is in one phase, with its own deadline:

- waiting for a request (new, or after an answer): closed, silently, after ``idle_s``;
- reading the request line and headers, from their first byte: 408 after ``header_s``;
  431 as soon as they pass ``max_header_bytes`` or ``max_header_fields``, before the
  application sees anything;
- reading the body, from the end of the headers: 408 after ``body_s`` (if the
  application has not answered yet; else the connection just closes);
- the application at work (after the whole request came in): no deadline here.

Refusals are problem+json, with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import PROBLEM, TYPE_BASE
from api.settings import Settings


class Phase(enum.Enum):
    IDLE = "idle"
    HEAD = "head"
    BODY = "body"
    APP = "app"


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int = 16 * 1024
    max_header_fields: int = 100
    idle_s: float = 5.0
    header_s: float = 10.0
    body_s: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            settings.max_header_bytes,
            settings.max_header_fields,
            settings.idle_timeout_s,
            settings.header_timeout_s,
            settings.body_timeout_s,
        )


def protocol_for(settings: Settings) -> type[LimitedHttpToolsProtocol]:
    """uvicorn's httptools protocol with these settings' limits."""
    limits = ConnectionLimits.of(settings)
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = Phase.IDLE
        self._deadline: asyncio.TimerHandle | None = None
        self._messages = 0  # requests begun on this connection
        self._head_raw = 0  # bytes received while the headers were incomplete
        self._head_size = 0  # the request line and fields as parsed
        self._fields = 0
        self._refusal: tuple[int, str] | None = None

    # phases and deadlines

    def _enter(self, phase: Phase) -> None:
        self._cancel()
        self._phase = phase
        delay = {
            Phase.IDLE: self.limits.idle_s,
            Phase.HEAD: self.limits.header_s,
            Phase.BODY: self.limits.body_s,
        }.get(phase)
        if delay is not None:
            self._deadline = self.loop.call_later(delay, self._expired, phase)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: Phase) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if phase is Phase.HEAD:
            self._refuse(408, f"the request's headers took longer than {self.limits.header_s:g} s")
        elif phase is Phase.BODY and self.cycle is not None and not self.cycle.response_started:
            self.cycle.disconnected = True  # the application's receive() ends, its send() is void
            self.cycle.message_event.set()
            self._refuse(408, f"the request's body took longer than {self.limits.body_s:g} s")
        else:  # idle, or a body that keeps coming after the answer
            self.transport.close()

    def _refuse(self, status: int, detail: str) -> None:
        self._cancel()
        phrase = HTTPStatus(status).phrase
        body = msgspec.json.encode(
            {"type": f"{TYPE_BASE}{status}", "title": phrase, "status": status, "detail": detail}
        )
        head = [f"HTTP/1.1 {status} {phrase}".encode()]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [
            f"content-type: {PROBLEM}".encode(),
            f"content-length: {len(body)}".encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    # the transport's and the parser's callbacks

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._enter(Phase.IDLE)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None or self.transport.is_closing():
            return
        if self._phase is Phase.IDLE:
            self._enter(Phase.HEAD)
        heading, begun = self._phase is Phase.HEAD, self._messages
        super().data_received(data)
        if heading and self._phase is Phase.HEAD and begun == self._messages:
            self._head_raw += len(data)  # all of it was head: the parser holds it
            self._check_head(self._head_raw)
        if self._refusal is not None and not self.transport.is_closing():
            self._refuse(*self._refusal)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._messages += 1
        self._head_raw = self._head_size = self._fields = 0
        if self._phase is not Phase.HEAD:
            self._enter(Phase.HEAD)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refusal is not None:
            return
        super().on_header(name, value)
        self._fields += 1
        self._head_size += len(name) + len(value) + 4
        if self._fields > self.limits.max_header_fields:
            self._refusal = (431, f"more than {self.limits.max_header_fields} header fields")
        self._check_head(self._head_size)

    def _check_head(self, size: int) -> None:
        if size > self.limits.max_header_bytes and self._refusal is None:
            detail = f"the request line and headers exceed {self.limits.max_header_bytes} bytes"
            self._refusal = (431, detail)

    def on_headers_complete(self) -> None:
        self._check_head(self._head_size)
        if self._refusal is not None:
            return  # the application never sees this request
        super().on_headers_complete()
        self._enter(Phase.BODY)

    def on_body(self, body: bytes) -> None:
        if self._refusal is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refusal is not None:
            return
        super().on_message_complete()
        answered = self.cycle is not None and self.cycle.response_complete
        self._enter(Phase.IDLE if answered else Phase.APP)

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        self._unset_keepalive_if_required()  # this protocol's own deadline instead
        if self._phase is Phase.APP and not pipelined and not self.transport.is_closing():
            self._enter(Phase.IDLE)
