"""Input refused as bytes, before decoding: deep JSON and bytes that are not UTF-8 are 400
problem+json (each was a 500, or silently became U+FFFD) and write nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.access import authorise
from api.app import create_app
from api.raw_input import json_depth_exceeds
from api.settings import Settings
from tests.api.conftest import SECRET
from tests.api.scenario import Api

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def head(api: Api) -> int | None:
    return (await api.client.get("/health")).json()["position"]


def assert_400(r: Any, slug: str) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/" + slug), r.text


async def send(api: Api, path: str, body: bytes, *roles: str, person: str = "admin") -> Any:
    headers = {**api.auth(person, *roles), "content-type": "application/json"}
    return await api.client.post(path, content=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [DEEP, b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}", b"{" * 200_000],
    ids=["100000-deep array", "5000-deep field", "unclosed objects"],
)
async def test_deeply_nested_json_is_400_and_writes_nothing(api: Api, body: bytes) -> None:
    assert_400(await send(api, "/portfolios", body, "pmo_admin"), "too-deep")
    assert await head(api) is None


async def test_deep_json_is_refused_on_every_command(api: Api) -> None:
    project = await api.project()
    before = await head(api)
    assert_400(
        await send(api, f"/projects/{project}/gates/G0/review", DEEP, person="paula"), "too-deep"
    )
    assert await head(api) == before


async def test_json_within_the_depth_limit_reaches_validation(api: Api) -> None:
    nested = b'{"name": ' + b"[" * 30 + b"]" * 30 + b"}"
    r = await send(api, "/portfolios", nested, "pmo_admin")
    assert r.status_code == 422, r.text


def test_brackets_inside_strings_do_not_count() -> None:
    text = b'{"name": "' + b"[{" * 1000 + b'", "x": "\\"[[[[", "y": []}'
    assert not json_depth_exceeds(text, 32)
    assert json_depth_exceeds(b'{"a": "]]]]]' + b"[" * 33 + b'"}' + b"[" * 33, 32)
    assert not json_depth_exceeds(b"[" * 32 + b"]" * 32, 32)
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33, 32)


@pytest.mark.parametrize(
    "body",
    [DEEP, b"[]" * 131_000, b'"' + b"[" * 260_000, b'["' + b'\\"[' * 87_000 + b'"]'],
    ids=["deep", "flat pairs", "unterminated string", "escaped quotes"],
)
def test_the_depth_check_costs_little_at_the_size_limit(body: bytes) -> None:
    """Measured: a few microseconds on ordinary bodies, under 10 ms on these (256 KiB)."""
    started = time.perf_counter()
    json_depth_exceeds(body, 32)
    assert time.perf_counter() - started < 0.2


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff\xfe"}', b"\xff\xfe", b'{"name": "\xed\xa0\x80"}'],
    ids=["in a string", "whole body", "surrogate"],
)
async def test_a_body_that_is_not_utf8_is_400_and_writes_nothing(api: Api, body: bytes) -> None:
    assert_400(await send(api, "/portfolios", body, "pmo_admin"), "not-utf-8")
    assert await head(api) is None


async def test_query_and_path_bytes_that_are_not_utf8_are_400(api: Api) -> None:
    project = await api.project()
    before = await head(api)
    for query in (
        "/projects?stage=%FF",
        "/audit/events?actor=%C3%28",
        f"/projects/{project}?as_of=%FF",
    ):
        assert_400(await api.get(query, "auditor", "auditor"), "not-utf-8")
    r = await send(api, f"/projects/{project}/gates/%FF/review", b"{}", person="paula")
    assert_400(r, "not-utf-8")
    assert await head(api) == before


@pytest.mark.parametrize("header", ["If-Match", "Idempotency-Key", "X-Request-Id", "Authorization"])
async def test_a_header_that_is_not_utf8_is_400_and_writes_nothing(
    served: Api, header: str
) -> None:
    """Over real HTTP (the test client re-encodes header values)."""
    project = await served.project()
    before = await served.get("/health")
    headers: dict[str, Any] = {**served.auth("paula"), "content-type": "application/json"}
    headers[header] = b"Bearer \xff\xfe" if header == "Authorization" else b"\xff\xfe"
    r = await served.client.post(
        f"/projects/{project}/gates/G0/review", content=b'{"evidence": []}', headers=headers
    )
    assert_400(r, "not-utf-8")
    assert (await served.get("/health")).json() == before.json()


def test_every_route_checks_its_raw_input() -> None:
    """The checks run in the access guard, which every route has (guards add up across
    layers; a before_request hook would be replaced by a closer layer's)."""
    app = create_app(Settings(jwt_secret=SECRET, data_dir=Path("/nonexistent")))
    handlers = [h for r in app.routes if isinstance(r, HTTPRoute) for h in r.route_handlers]
    assert handlers
    for handler in handlers:
        assert authorise in handler.resolve_guards(), handler
