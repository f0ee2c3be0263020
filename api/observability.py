"""Request ids, structured logs and request metrics: one ASGI wrapper around the whole
application (``observe``), outside litestar's routing, so that every answer is counted
and carries its ids, a 404 for an unknown path included.

- **Request id**: ``X-Request-ID`` as the client (or a proxy) sent it, if it is 1 to 128
  letters, digits or ``._:-``; else a new one. **Correlation id**: ``X-Correlation-ID``
  likewise, else the request id. Both are echoed in the answer's headers and set in
  context variables that every log line written while the request runs carries
  (``ContextFilter``), the access line included.
- **Logs**: ``GATELEDGER_LOG_FORMAT=json`` writes one JSON object a line (``ts``,
  ``level``, ``logger``, ``message``, ``request_id``, ``correlation_id``, and ``exc``
  with a traceback); ``text`` (the default) the usual line, with ``[request ...]``
  appended inside a request.
- **Metrics**: each answer counts in ``api.metrics.METRICS`` by method, route template
  (``/api/v1/projects/{project_id}``, never the raw path: ids would make a series
  each) and status, with its latency.
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import METRICS

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
CORRELATION_ID: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_GIVEN_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_REQUEST_HEADER, _CORRELATION_HEADER = b"x-request-id", b"x-correlation-id"
UNMATCHED = "(unmatched)"  # the route label of a path no route takes (404, 405)

access_log = logging.getLogger("gateledger.access")


def _given(value: bytes | None) -> str | None:
    return value.decode() if value is not None and _GIVEN_ID.fullmatch(value) else None


def observe(app: ASGIApp) -> ASGIApp:
    """``app`` wrapped: ids in, ids out, every answer counted and timed."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = _given(headers.get(_REQUEST_HEADER)) or uuid.uuid4().hex
        correlation_id = _given(headers.get(_CORRELATION_HEADER)) or request_id
        tokens = REQUEST_ID.set(request_id), CORRELATION_ID.set(correlation_id)
        status = 500  # an application that fails before answering: the server's 500
        started = time.perf_counter()
        ids = [
            (_REQUEST_HEADER, request_id.encode()),
            (_CORRELATION_HEADER, correlation_id.encode()),
        ]

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *ids]
            await send(message)

        try:
            await app(scope, receive, send_with_ids)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or UNMATCHED
            method = str(scope.get("method", ""))
            METRICS.request(method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %d %.1f ms",
                    method,
                    route,
                    status,
                    elapsed * 1000,
                    extra={"method": method, "route": route, "status": status},
                )
            REQUEST_ID.reset(tokens[0])
            CORRELATION_ID.reset(tokens[1])

    return wrapped


class ContextFilter(logging.Filter):
    """Gives every record the request's ids (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.correlation_id = CORRELATION_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    EXTRA = ("method", "route", "status")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "correlation_id": getattr(record, "correlation_id", None),
        }
        for name in self.EXTRA:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """The usual line; inside a request, ``[request <id>]`` appended (and the
    correlation id when it differs)."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            return text
        correlation_id = getattr(record, "correlation_id", None)
        also = f" correlation {correlation_id}" if correlation_id != request_id else ""
        return f"{text} [request {request_id}{also}]"


def configure_logging(log_format: str) -> None:
    """The root logger's handlers write ``log_format`` (``json`` or ``text``) lines,
    each with the request's ids; one handler on stderr if there is none."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    for handler in root.handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
