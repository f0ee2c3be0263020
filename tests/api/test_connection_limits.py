"""Header limits and connection timeouts (api/connections.py), against a real
``gateledger serve`` process spoken to over raw sockets: oversized or too many header
fields are 431 before the application runs; a connection that idles, sends its headers
or its body too slowly is closed in bounded time."""

from __future__ import annotations

import asyncio
import itertools
import json
import select
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from api.auth import mint_token
from api.settings import Settings
from tests.api.processes import serving
from tests.conftest import drop_store_schema
from tests.e2e.server import PORTFOLIO, SECRET, Server

IDLE_S, HEADER_S, BODY_S = 0.5, 1.0, 1.0
SLACK_S = 1.5  # the deadline, plus this, is as late as a close may come
TOKEN = mint_token(Settings(jwt_secret=SECRET), "admin", ["pmo_admin"])


@pytest.fixture(scope="module")
def schema() -> str:
    return f"t_conn_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def server(
    database_url: str, schema: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    limits = {"IDLE_TIMEOUT": str(IDLE_S), "HEADER_TIMEOUT": str(HEADER_S)}
    limits["BODY_TIMEOUT"] = str(BODY_S)
    data_dir: Path = tmp_path_factory.mktemp("connections")
    try:
        with serving(database_url, schema, data_dir, 1, **limits) as (one,):
            yield one
    finally:
        asyncio.run(drop_store_schema(database_url, schema))


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def request(server: Server, path: str = "/api/v1/health", headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{headers}\r\n".encode()


def read_until_closed(conn: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took; fails if it
    has not closed ``within`` seconds."""
    started, raw = time.monotonic(), b""
    conn.settimeout(within)
    try:
        while chunk := conn.recv(65536):
            raw += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {within} s; received {raw[:200]!r}") from None
    except ConnectionResetError:
        pass
    return raw, time.monotonic() - started


def read_response(conn: socket.socket) -> bytes:
    """One answer with a Content-Length, read off a connection that stays open."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += conn.recv(65536)
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def problem_of(raw: bytes) -> dict:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    return json.loads(body)


def test_a_connection_that_never_sends_a_byte_is_closed_after_the_idle_timeout(
    server: Server,
) -> None:
    with connect(server) as conn:
        raw, took = read_until_closed(conn, IDLE_S + SLACK_S)
    assert raw == b""
    assert took >= IDLE_S * 0.8


def test_a_kept_alive_connection_is_closed_once_idle_and_serves_until_then(
    server: Server,
) -> None:
    with connect(server) as conn:
        for _ in range(2):  # two requests on one connection
            conn.sendall(request(server))
            assert status_of(read_response(conn)) == 200
        raw, took = read_until_closed(conn, IDLE_S + SLACK_S)
    assert raw == b""
    assert took >= IDLE_S * 0.8


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(server: Server) -> None:
    with connect(server) as conn:
        conn.sendall(request(server)[:-2])  # the headers never end
        slowly = itertools.cycle(b"x-slow: 1\r\n")
        started, raw = time.monotonic(), b""
        while time.monotonic() - started < HEADER_S + SLACK_S:
            try:
                conn.sendall(bytes([next(slowly)]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([conn], [], [], 0.05)[0]:
                raw, _ = read_until_closed(conn, SLACK_S)
                break
        took = time.monotonic() - started
    assert status_of(raw) == 408, raw
    assert "headers took longer than 1 s" in problem_of(raw)["detail"]
    assert HEADER_S * 0.8 <= took <= HEADER_S + SLACK_S


def test_a_body_that_trickles_in_is_cut_off_with_408(
    server: Server, database_url: str, schema: str
) -> None:
    body = json.dumps(PORTFOLIO).encode()
    head = (
        f"POST /api/v1/portfolios HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with connect(server) as conn:
        conn.sendall(head)
        started, raw = time.monotonic(), b""
        for byte in body:
            try:
                conn.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([conn], [], [], 0.1)[0]:
                raw, _ = read_until_closed(conn, SLACK_S)
                break
        took = time.monotonic() - started
    assert status_of(raw) == 408, raw
    assert "body took longer than 1 s" in problem_of(raw)["detail"]
    assert BODY_S * 0.8 <= took <= BODY_S + SLACK_S
    assert asyncio.run(events_in(database_url, schema)) == 0  # nothing was written


async def events_in(database_url: str, schema: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(f'SELECT count(*) FROM "{schema}".stored_events'))
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("x-big: " + "a" * 15_000 + "\r\n", 200),  # under 16 KiB in all
        ("x-big: " + "a" * 17_000 + "\r\n", 431),
        ("".join(f"x-h{i}: {i}\r\n" for i in range(98)), 200),  # 100 with Host, Connection
        ("".join(f"x-h{i}: {i}\r\n" for i in range(99)), 431),
    ],
)
def test_headers_over_16_kib_or_100_fields_are_431_before_the_app(
    server: Server, headers: str, status: int
) -> None:
    with connect(server) as conn:
        conn.sendall(request(server, headers=headers + "connection: close\r\n"))
        raw, _ = read_until_closed(conn, SLACK_S)
    assert status_of(raw) == status, raw[:300]
    if status == 431:
        assert problem_of(raw)["status"] == 431


def test_headers_that_never_end_are_refused_once_past_the_limit(server: Server) -> None:
    """The server keeps no more than the limit (and a read's worth) of a head that keeps
    coming in pieces: it answers 431 before the client has sent 64 KiB."""
    sent = 0
    with connect(server) as conn:
        conn.sendall(request(server)[:-2] + b"x-endless: ")
        while sent < 64 * 1024:
            try:
                conn.sendall(b"a" * 1024)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1024
            if select.select([conn], [], [], 0.02)[0]:
                break
        raw, _ = read_until_closed(conn, SLACK_S)
    assert status_of(raw) == 431, raw[:300]
    assert sent < 32 * 1024
