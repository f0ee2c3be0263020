"""Schemathesis over the published OpenAPI schema (/docs/openapi.json): every operation,
with valid and invalid inputs, as a pmo_admin and auditor and as a plain board member,
answers no 5xx, every error is problem+json, and every response is one the schema
documents: its status, media type, headers and body (issue 10 item 4, issue 11 item 3).

Path parameters name real objects (a small scenario), so requests get past "not found"
into the handlers. Examples are few and derandomized: the same cases every run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.auth import mint_token
from api.settings import Settings
from tests.api.conftest import SECRET, app_settings
from tests.api.scenario import PORTFOLIO, project_body
from tests.conftest import drop_store_schema

EXAMPLES = 6  # per operation, generation mode and caller: about 900 requests, ~10 s
CR = {
    "title": "More scope",
    "description": "Add reporting",
    "cost_delta": {"amount": "1000.00", "currency": "EUR"},
    "schedule_delta_days": 5,
}
SIGNOFF = {"deliverable": "Charter", "version": "1", "content_hash": "x", "signatories": ["sam"]}


@schemathesis.check
def errors_are_problem_json(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every 4xx and 5xx is RFC 9457 problem+json with type, title, status and detail."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}: {response.text[:200]}"
    )
    body = response.json()
    assert body["status"] == response.status_code and body["type"] and body["title"], body
    assert "detail" in body, body
    return True


# Every answer's status, media type, headers and body are the ones its operation documents
# (api/responses.py declares each operation's problems).
CHECKS = [
    not_a_server_error,
    errors_are_problem_json,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def bearer(settings: Settings, person: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, person, roles)}"}


def scenario_ids(settings: Settings, client: asgi.ASGIClient) -> dict[str, str]:
    """A portfolio, a project under review at G0 with a change request and a sign-off
    request, and a delegation: their ids by the names of the path parameters."""

    def post(path: str, person: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        r = client.post(f"/api/v1{path}", json=body, headers=person)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    admin, paula = bearer(settings, "admin", "pmo_admin"), bearer(settings, "paula")
    portfolio = post("/portfolios", admin, PORTFOLIO)["id"]
    project = post("/projects", admin, project_body(portfolio))["id"]
    post(f"/projects/{project}/gates/G0/review", paula, {"evidence": []})
    ends = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    delegation = post("/delegations", bearer(settings, "dave"), {"delegate": "erin", "ends": ends})
    return {
        "portfolio_id": portfolio,
        "project_id": project,
        "gate": "G0",
        "change_request_id": post(f"/projects/{project}/change-requests", paula, CR)["id"],
        "signoff_id": post(f"/projects/{project}/signoffs", paula, SIGNOFF)["id"],
        "delegation_id": delegation["details"]["delegation_id"],
    }


class Served:
    """The app (its lifespan run by schemathesis), the published schema, real ids, and
    the callers: a pmo_admin who is also auditor, and a board member with no role."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        # schemathesis types an ASGI app's scope as a plain dict, litestar as TypedDicts:
        # the same calls at run time, but the two signatures do not match for mypy
        with asgi.get_client(self.app) as client:  # type: ignore[arg-type]
            self.ids = scenario_ids(settings, client)
        self.schema = schemathesis.openapi.from_asgi("/docs/openapi.json", self.app)
        self.callers = [bearer(settings, "admin", "pmo_admin", "auditor"), bearer(settings, "dave")]


@pytest.fixture(scope="module")
def fuzzed(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = app_settings(
        database_url,
        f"t_{uuid.uuid4().hex[:12]}",
        tmp_path_factory.mktemp("schemathesis"),
        min_position_wait_s=0.2,
        run_webhooks=False,  # subscriptions it makes send nothing to the URLs it invents
    )
    try:
        yield Served(settings)
    finally:
        asgi.shutdown_lifespans()
        asyncio.run(drop_store_schema(database_url, settings.schema))


def operations() -> list[tuple[str, str]]:
    """Every operation the app publishes (building the schema needs no database)."""
    app = create_app(Settings(jwt_secret=SECRET, data_dir=Path("/nonexistent")))
    paths = app.openapi_schema.to_schema()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() for m in ops if m != "parameters"]


def modes(definition: dict[str, Any]) -> tuple[GenerationMode, ...]:
    """Negative cases need an input to break: an operation that takes no parameter, no
    body and no token (health, the public key) has none."""
    if definition.get("parameters") or definition.get("requestBody"):
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if definition.get("security", [{"bearer": []}]) != [{}]:
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return (GenerationMode.POSITIVE,)


@pytest.mark.parametrize("method, path", operations(), ids=str)
def test_no_input_reaches_a_5xx_and_errors_are_problem_json(
    fuzzed: Served, method: str, path: str
) -> None:
    operation = fuzzed.schema[path][method]
    ids = {name: value for name, value in fuzzed.ids.items() if f"{{{name}}}" in path}
    for mode in modes(fuzzed.schema.raw_schema["paths"][path][method.lower()]):

        @given(case=operation.as_strategy(mode, path_parameters=ids or None))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            if path.endswith("/events/stream"):  # a stream that ends, so it can be read
                case.query = {**(case.query or {}), "until": 0}
            for caller in fuzzed.callers:
                case.call_and_validate(headers=caller, checks=CHECKS)

        run()
