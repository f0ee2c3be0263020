"""Input checked as bytes before anything decodes it: 400 problem+json, never a 500.

msgspec decodes JSON recursively and raises ``RecursionError`` on a deep ``[[[[...``
body, and ``UnicodeDecodeError`` on a string that is not UTF-8; litestar and the ASGI
server turn bytes that are not UTF-8 in the path and the query string into U+FFFD
silently. These checks run first in the access guard (``api.access.authorise``), before
the token, the body and the parameters are decoded (the body size is bounded by
``request_max_body_size`` as it is read: 413), and refuse:

- a body that is not UTF-8, or whose JSON nests arrays and objects deeper than
  ``Settings.max_json_depth``;
- a path, query string or header the API reads (``READ_HEADERS``) that is not UTF-8.

tests/api/test_raw_input.py checks that every route runs the guard.

The depth check costs a few microseconds on ordinary bodies (a count of brackets) and at
most a few milliseconds on a body of the maximum size built to be slow.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from litestar import Request

from api.errors import ProblemError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_HEADERS = frozenset(
    {b"authorization", b"if-match", b"idempotency-key", b"x-request-id", b"last-event-id"}
)

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether ``body``'s arrays and objects nest deeper than ``limit`` (strings skipped).

    Not a validator: malformed JSON under the limit is left to the decoder."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _require_utf8(data: bytes, what: str) -> None:
    if not is_utf8(data):
        raise ProblemError(400, f"{what} is not valid UTF-8", slug="not-utf-8")


async def check_raw_input(request: Request) -> None:
    """The first step of the access guard: see the module's docstring."""
    scope = request.scope
    raw_path, _, raw_query = (scope.get("raw_path") or b"").partition(b"?")
    _require_utf8(unquote_to_bytes(raw_path), "the path")
    _require_utf8(unquote_to_bytes(scope.get("query_string") or raw_query), "the query string")
    for name, value in scope["headers"]:
        if name.lower() in READ_HEADERS:
            _require_utf8(value, f"the {name.decode('latin-1')} header")
    if request.method not in BODY_METHODS:
        return
    body = await request.body()
    _require_utf8(body, "the body")
    limit = request.app.state.settings.max_json_depth
    if json_depth_exceeds(body, limit):
        raise ProblemError(
            400, f"the body nests arrays and objects deeper than {limit}", slug="too-deep"
        )
