"""Every operation answers what the published schema says it answers (issue 11 item 3).

For every operation in /docs/openapi.json, requests that reach different outcomes (the
access matrix's scenario: tests/api/test_access_policy.py): a permitted caller, no token,
a caller who may not, an unknown id, bodies that are not what the operation takes, a
query parameter it does not read and one out of range, a stale or malformed If-Match, a
body too large; then rate limits spent and read models behind. Each answer's status must
be documented for its operation, its media type one documented for that status, its body
valid against the documented JSON Schema (components resolved, formats checked) and its
headers the documented required ones; every error is problem+json. Each operation must
also answer its documented success once, so the success code is the one it sends.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jsonschema_rs
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from eventstore.schema import StoreNames
from tests.api.conftest import SECRET, app_settings
from tests.api.scenario import Api
from tests.api.test_access_policy import (
    AUDIENCE,
    EVERYONE_SEES,
    ISSUER,
    PEOPLE,
    SEES,
    World,
    build,
    routes,
)
from tests.conftest import drop_store_schema

BASE = "http://testserver.local"
PREFIX = "/api/v1"
PROBLEM = "application/problem+json"
UUID_IN_PATH = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Contract:
    """The published schema: each operation's documented responses, as validators."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.operations: dict[str, dict[str, Any]] = {
            op["operationId"]: op
            for item in document["paths"].values()
            for method, op in item.items()
            if method != "parameters"
        }
        self._validators: dict[tuple[str, str, str], Any] = {}
        self.answered: dict[str, set[int]] = defaultdict(set)

    def check(self, operation: str, response: httpx.Response, why: str) -> None:
        """``response`` (to a request made for ``why``) is one ``operation`` documents."""
        status, where = response.status_code, f"{operation} ({why}): {response.status_code}"
        documented = self.operations[operation]["responses"]
        assert str(status) in documented, f"{where} is not documented: {response.text[:300]}"
        spec = documented[str(status)]
        media = response.headers.get("content-type", "").split(";")[0].strip()
        content = spec.get("content") or {}
        assert media in content, f"{where} answered {media!r}, documented {sorted(content)}"
        if status >= 400:
            assert media == PROBLEM, f"{where} is an error answered as {media!r}"
        for name, header in (spec.get("headers") or {}).items():
            if header.get("required"):
                assert name.lower() in response.headers, f"{where} lacks the header {name}"
        if media == "application/json" or media.endswith("+json"):
            body = response.json()
            errors = [
                e.message
                for e in self._validator(operation, str(status), media, content).iter_errors(body)
            ]
            assert not errors, f"{where} body does not match its schema: {errors[:5]} {body}"
            if media == PROBLEM:
                assert body["status"] == status, f"{where} says status {body['status']}"
        self.answered[operation].add(status)

    def _validator(self, operation: str, status: str, media: str, content: dict[str, Any]) -> Any:
        key = (operation, status, media)
        if key not in self._validators:
            # The schema with the document's components beside it, so $refs resolve.
            schema = {**content[media]["schema"], "components": self.document["components"]}
            self._validators[key] = jsonschema_rs.Draft202012Validator(
                schema, validate_formats=True
            )
        return self._validators[key]

    def success_code(self, operation: str) -> int:
        codes = [int(c) for c in self.operations[operation]["responses"] if int(c) < 300]
        assert len(codes) == 1, (operation, codes)
        return codes[0]

    def query_parameters(self, operation: str) -> list[dict[str, Any]]:
        params = self.operations[operation].get("parameters", [])
        return [p for p in params if p["in"] == "query"]

    def takes_body(self, operation: str) -> bool:
        return "requestBody" in self.operations[operation]


class Scenario:
    """The access matrix's world, its published schema and a way to send anything."""

    def __init__(self, world: World, contract: Contract) -> None:
        self.world, self.contract = world, contract

    async def send(
        self,
        operation: str,
        method: str,
        path: str,
        why: str,
        who: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {**(self.world.headers(who) if who else {}), **(headers or {})}
        content = raw if raw is not None else None if body is None else json.dumps(body)
        if content is not None:
            sent.setdefault("Content-Type", "application/json")
        r = await self.world.api.client.request(method, path, headers=sent, content=content)
        self.contract.check(operation, r, f"{why}, {method} {path} as {who}")
        return r


@pytest.fixture
async def scenario(database_url: str, schema_name: str, tmp_path: Path) -> AsyncIterator[Scenario]:
    settings = app_settings(
        database_url, schema_name, tmp_path, jwt_audience=AUDIENCE, jwt_issuer=ISSUER
    )
    async with AsyncTestClient(app=create_app(settings), base_url=BASE + PREFIX) as client:
        published = await client.get(f"{BASE}/docs/openapi.json")
        assert published.status_code == 200, published.text
        world = World(Api(client, settings), database_url, schema_name)
        await build(world.api, world)
        yield Scenario(world, Contract(published.json()))
    await drop_store_schema(database_url, schema_name)


def permitted(allowed: set[str]) -> str:
    """The caller a success is asked of: the first permitted person by name."""
    return sorted(allowed & set(PEOPLE))[0]


def refused(allowed: set[str], obj: str | None) -> list[str]:
    """Who may not: someone who sees nothing, and someone who sees the object (or, with
    none, anyone) but may not act, if there is such a person."""
    sees = SEES[obj] | EVERYONE_SEES if obj else set(PEOPLE)
    insiders = sorted(sees - allowed - {"nina"})
    return (["nina"] if "nina" not in allowed else []) + insiders[:1]


def out_of_range(param: dict[str, Any]) -> str | None:
    """A value the published schema of a query parameter does not allow, if it says one."""
    schema = param.get("schema", {})
    for choice in schema.get("oneOf", [schema]):
        if "minimum" in choice:
            return str(choice["minimum"] - 1)
        if "maxLength" in choice:
            return "x" * (choice["maxLength"] + 1)
        if "enum" in choice:
            return "not-one-of-them"
    return None


async def refusals(s: Scenario, row: tuple[str, str, str, Any, str | None, set[str]]) -> None:
    """Requests to one operation that are refused before anything is written."""
    operation, method, path, body, obj, allowed = row
    caller = permitted(allowed)
    await s.send(operation, method, path, "no token", body=body)
    for who in refused(allowed, obj):
        await s.send(operation, method, path, "may not", who, body)
    for found in UUID_IN_PATH.findall(path):
        await s.send(
            operation, method, path.replace(found, str(uuid.uuid4())), "unknown id", caller, body
        )
    await s.send(operation, method, f"{path}?zz_unsupported=1", "unsupported", caller, body)
    for param in s.contract.query_parameters(operation):
        value = out_of_range(param)
        if value is not None:
            query = f"{param['name']}={value}"
            await s.send(operation, method, f"{path}?{query}", "out of range", caller, body)
    if method not in ("POST", "DELETE"):
        return
    limit = s.world.api.settings.max_body_bytes
    await s.send(operation, method, path, "too large", caller, raw=b" " * (limit + 1))
    await s.send(operation, method, path, "too deep", caller, raw=b"[" * 40 + b"]" * 40)
    if s.contract.takes_body(operation):
        await s.send(operation, method, path, "not JSON", caller, raw=b'{"name": ')
        await s.send(operation, method, path, "unknown field", caller, {"zz_unknown": 1})
        await s.send(operation, method, path, "wrong type", caller, [1, 2, 3])
    if "412" in s.contract.operations[operation]["responses"]:
        weak = {"If-Match": 'W/"1"'}
        await s.send(operation, method, path, "weak If-Match", caller, body, headers=weak)
        bad = {"If-Match": "yesterday"}
        await s.send(operation, method, path, "malformed If-Match", caller, body, headers=bad)


async def lifecycles(s: Scenario, project: str) -> None:
    """Fresh change requests and a sign-off request, for the acts the scenario's own
    have gone past (submit, withdraw, implement, decline)."""

    async def post(operation: str, path: str, who: str, body: Any = None) -> Any:
        r = await s.send(operation, "POST", path, "fresh", who, body)
        assert r.status_code < 300, (operation, r.text)
        return r.json()

    small = {
        "title": "Small",
        "description": "Within tolerance",
        "cost_delta": {"amount": "10.00", "currency": "EUR"},
        "schedule_delta_days": 1,
    }
    for then in ("implement", "withdraw"):
        cr = (
            await post("draftChangeRequest", f"/projects/{project}/change-requests", "paula", small)
        )["id"]
        await post("submitChangeRequest", f"/change-requests/{cr}/submit", "paula")
        if then == "withdraw":
            await post(
                "withdrawChangeRequest",
                f"/change-requests/{cr}/withdraw",
                "paula",
                {"reason": "no"},
            )
            continue
        approve = {"decision": "approve", "rationale": "fine"}
        await post("decideChangeRequest", f"/change-requests/{cr}/decision", "sam", approve)
        await post("implementChangeRequest", f"/change-requests/{cr}/implement", "paula")
    signoff = {
        "deliverable": "Plan",
        "version": "3",
        "content_hash": "sha256:4",
        "signatories": ["sid"],
    }
    so = (await post("requestSignOff", f"/projects/{project}/signoffs", "paula", signoff))["id"]
    await post("declineSignOff", f"/signoffs/{so}/decline", "sid", {"comment": "not yet"})


async def test_every_operation_answers_only_what_it_documents(scenario: Scenario) -> None:
    s, table = scenario, routes(scenario.world.ids)
    assert {row[0] for row in table} == set(s.contract.operations), "a sample for every operation"
    for row in table:
        await refusals(s, row)
    for operation, method, path, body, _obj, allowed in table:
        await s.send(operation, method, path, "permitted", permitted(allowed), body)
    # The same command again: the state no longer allows most (409), or it changes nothing.
    for operation, method, path, body, _obj, allowed in table:
        if method == "POST" and "409" in s.contract.operations[operation]["responses"]:
            await s.send(operation, method, path, "again", permitted(allowed), body)
    await lifecycles(s, s.world.ids["P"])
    never = {
        op: sorted(codes)
        for op, codes in s.contract.answered.items()
        if s.contract.success_code(op) not in codes
    }
    assert not never, f"operations that never answered their documented success: {never}"
    seen = set().union(*s.contract.answered.values())
    assert {200, 201, 400, 401, 403, 404, 409, 412, 413, 422} <= seen, sorted(seen)


def test_every_error_is_documented_as_problem_json() -> None:
    """No litestar default (its ValidationException body as application/json) is left."""
    app = create_app(Settings(jwt_secret=SECRET, data_dir=Path("/nonexistent")))
    document = app.openapi_schema.to_schema()
    contract = Contract(document)
    for operation, op in contract.operations.items():
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            if (operation, status) in {("health", "503"), ("readiness", "503")}:  # own bodies
                assert set(response["content"]) == {"application/json"}
                continue
            assert response["content"] == {
                PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (operation, status)
            assert response["description"], (operation, status)
        assert "400" in op["responses"], operation  # an unsupported query parameter
    assert "status_code" not in json.dumps(document["components"]), "litestar's error shape"


# --- rate limits spent, read models behind ---------------------------------------------


@pytest.fixture
async def strict(database_url: str, schema_name: str, tmp_path: Path) -> AsyncIterator[Scenario]:
    """One command and one expensive read a minute, reads that wait at most 0.3 s."""
    settings = app_settings(
        database_url,
        schema_name,
        tmp_path,
        rate_commands=1,
        rate_expensive=1,
        min_position_wait_s=0.3,
    )
    async with AsyncTestClient(app=create_app(settings), base_url=BASE + PREFIX) as client:
        published = await client.get(f"{BASE}/docs/openapi.json")
        world = World(Api(client, settings), database_url, schema_name)
        yield Scenario(world, Contract(published.json()))
    await drop_store_schema(database_url, schema_name)


async def test_spent_limits_and_lagging_read_models_answer_as_documented(
    strict: Scenario,
) -> None:
    s, names = strict, StoreNames(schema=strict.world.names.schema)
    portfolio = {
        "name": "Tiny",
        "envelope": {"amount": "10.00", "currency": "EUR"},
        "board": {"members": ["carol", "erin"], "chair": "carol"},
    }
    first = await s.send("createPortfolio", "POST", "/portfolios", "first", "adam", portfolio)
    assert first.status_code == 201, first.text
    second = await s.send("createPortfolio", "POST", "/portfolios", "second", "adam", portfolio)
    assert second.status_code == 429, second.text
    audit = [
        await s.send("listAuditEvents", "GET", "/audit/events", "expensive", "audrey")
        for _ in range(2)
    ]
    assert [r.status_code for r in audit] == [200, 429]
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    conn = await asyncpg.connect(s.world.database_url)
    try:
        async with conn.transaction():  # hold every read model's tracking row
            await conn.execute(f"SELECT 1 FROM {names.q(names.tracking)} FOR UPDATE")
            made = await s.send(
                "delegate",
                "POST",
                "/delegations",
                "while behind",
                "dave",
                {"delegate": "erin", "ends": ends},
            )
            assert made.status_code == 201, made.text
            query = f"?min_position={made.json()['position']}"
            behind = await s.send("listPortfolios", "GET", f"/portfolios{query}", "behind", "dave")
            assert behind.status_code == 503, behind.text
    finally:
        await conn.close()
