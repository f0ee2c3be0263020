"""Bad input is answered with the right status as problem+json, and writes nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from tests.api.conftest import SECRET
from tests.api.scenario import PORTFOLIO, Api, project_body


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


async def position(api: Api) -> int | None:
    return (await api.client.get("/health")).json()["position"]


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


async def test_malformed_json_is_400(api: Api) -> None:
    r = await api.client.post(
        "/portfolios",
        content=b'{"name": "x", ',
        headers={**api.auth("admin", "pmo_admin"), "content-type": "application/json"},
    )
    assert_problem(r, 400)
    assert await position(api) is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({**PORTFOLIO, "surprise": 1}, "surprise"),
        ({**PORTFOLIO, "name": "x" * 201}, "name"),
        ({**PORTFOLIO, "name": 42}, "name"),
        ({**PORTFOLIO, "envelope": {"amount": 1.5, "currency": "EUR"}}, "amount"),
        ({**PORTFOLIO, "envelope": {"amount": "1.5", "currency": "euro"}}, "currency"),
        (
            {**PORTFOLIO, "board": {"members": [f"m{i}" for i in range(51)], "chair": "m0"}},
            "members",
        ),
        ({**PORTFOLIO, "objectives": ["o"] * 21}, "objectives"),
        ({k: v for k, v in PORTFOLIO.items() if k != "board"}, "board"),
    ],
)
async def test_invalid_bodies_are_422_and_write_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    r = await api.post("/portfolios", "admin", body, "pmo_admin")
    problem = assert_problem(r, 422)
    # the offending field is named where a client reads it: the detail or an error's key
    errors = problem.get("errors") or []
    named = [problem["detail"], *(f"{e.get('key', '')} {e.get('message', '')}" for e in errors)]
    assert any(field in text for text in named), problem
    assert await position(api) is None


async def test_domain_rule_on_values_is_422(api: Api) -> None:
    r = await api.post(
        "/portfolios",
        "admin",
        {**PORTFOLIO, "board": {"members": ["a"], "chair": "b"}},
        "pmo_admin",
    )
    assert_problem(r, 422)
    assert await position(api) is None


async def test_project_in_unknown_portfolio_is_404(api: Api) -> None:
    r = await api.post("/projects", "admin", project_body(str(uuid.uuid4())), "pmo_admin")
    assert_problem(r, 404)
    assert await position(api) is None


async def test_unknown_and_malformed_ids(api: Api) -> None:
    assert_problem(await api.get(f"/projects/{uuid.uuid4()}"), 404)
    assert_problem(await api.get(f"/portfolios/{uuid.uuid4()}"), 404)
    assert_problem(await api.get(f"/projects/{uuid.uuid4()}/history"), 404)
    assert (await api.get("/projects/not-a-uuid")).status_code in (400, 404)
    r = await api.vote(str(uuid.uuid4()), "dave")
    assert_problem(r, 404)


async def test_unknown_gate_is_404_and_wrong_gate_is_409(api: Api) -> None:
    project = await api.project()
    before = await position(api)
    r = await api.post(f"/projects/{project}/gates/G9/review", "paula", {"evidence": []})
    assert_problem(r, 404)
    r = await api.post(f"/projects/{project}/gates/G2/review", "paula", {"evidence": []})
    assert_problem(r, 409)
    assert await position(api) == before


async def test_creating_a_portfolio_needs_pmo_admin(api: Api) -> None:
    r = await api.post("/portfolios", "mallory", PORTFOLIO)
    assert_problem(r, 403)
    assert await position(api) is None


def token_with(secret: str, **claims: Any) -> dict[str, str]:
    base = {"sub": "admin", "roles": ["pmo_admin"], "exp": int(time.time()) + 600}
    base.update(claims)
    return {"Authorization": f"Bearer {jwt.encode(base, secret, algorithm='HS256')}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer not-a-jwt"},
        token_with("forged-" + "y" * 40),
        token_with(SECRET, exp=int(time.time()) - 3600),
        token_with(SECRET, sub=""),
    ],
    ids=["missing", "basic", "garbage", "forged", "expired", "no-subject"],
)
async def test_bad_tokens_are_401_and_write_nothing(api: Api, headers: dict[str, str]) -> None:
    r = await api.client.post("/portfolios", json=PORTFOLIO, headers=headers)
    assert_problem(r, 401)
    assert r.headers.get("www-authenticate") == "Bearer"
    assert await position(api) is None


async def test_unsigned_alg_none_token_is_refused(api: Api) -> None:
    unsigned = jwt.encode({"sub": "admin", "roles": ["pmo_admin"], "exp": 9999999999}, "", "none")
    r = await api.client.post(
        "/portfolios", json=PORTFOLIO, headers={"Authorization": f"Bearer {unsigned}"}
    )
    assert_problem(r, 401)


async def test_body_too_large_is_413(api: Api) -> None:
    r = await api.client.post(
        "/portfolios",
        content=b'{"name": "' + b"x" * 400_000 + b'"}',
        headers={**api.auth("admin", "pmo_admin"), "content-type": "application/json"},
    )
    assert_problem(r, 413)
    assert await position(api) is None


async def test_bad_if_match_and_idempotency_key_are_400(api: Api) -> None:
    project = await api.project()
    before = await position(api)
    path = f"/projects/{project}/gates/G0/review"
    r = await api.post(path, "paula", {"evidence": []}, **{"If-Match": "yesterday"})
    assert_problem(r, 400)
    r = await api.post(path, "paula", {"evidence": []}, **{"Idempotency-Key": "k" * 201})
    assert_problem(r, 400)
    assert await position(api) == before


async def test_acting_for_someone_without_delegation_is_refused(api: Api) -> None:
    project = await api.project()
    await api.review(project)
    before = await position(api)
    body = {"vote": "approve", "rationale": "x", "on_behalf_of": "dave"}
    r = await api.post(f"/projects/{project}/gates/G0/votes", "mallory", body)
    assert_problem(r, 404)  # mallory sees nothing of the project
    r = await api.post(f"/projects/{project}/gates/G0/votes", "sam", body)
    assert_problem(r, 403)  # the sponsor sees it, but holds no delegation from dave
    assert await position(api) == before


async def test_health_reports_database_and_position(api: Api) -> None:
    r = await api.client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "reachable", "position": None}


async def test_openapi_schema_is_published(api: Api) -> None:
    r = await api.client.get("http://testserver.local/docs/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/projects/{project_id}/gates/{gate}/votes" in paths


async def test_a_nul_character_is_422_and_never_reaches_the_read_models(api: Api) -> None:
    """PostgreSQL text cannot hold NUL: an event with one would stop every projection."""
    nul_name = {**PORTFOLIO, "name": "a\x00b"}
    assert_problem(await api.post("/portfolios", "admin", nul_name, "pmo_admin"), 422)
    assert await position(api) is None
    project = await api.project()
    before = await position(api)
    # Optional texts too (an evidence link): the domain checks every text it accepts
    # (domain/bounds.py), and names the field; nothing of the command is written.
    r = await api.post(
        f"/projects/{project}/gates/G0/review",
        "paula",
        {"evidence": [{"title": "Mandate", "link": "https://x/\x00"}]},
    )
    assert "evidence link" in assert_problem(r, 422)["detail"]
    assert await position(api) == before
    # A backslash followed by "u0000" is ordinary text.
    literal = {"evidence": [{"title": "Mandate", "link": "C:\\u0000"}]}
    assert (await api.post(f"/projects/{project}/gates/G0/review", "paula", literal)).is_success
    for query in ("/projects?status=a%00", "/audit/events?actor=a%00", "/projects?stage=%00"):
        assert_problem(await api.get(query), 422)


@pytest.mark.parametrize("query", ["actor=%00", "type=a%00", "format=csv&actor=%00"])
async def test_a_nul_in_an_export_filter_is_422_before_the_stream_starts(
    api: Api, query: str
) -> None:
    """Was a stream cut after its headers (the query failed once the answer had begun)."""
    await api.project()
    r = await api.get(f"/audit/export?{query}", "auditor", "auditor")
    assert "NUL" in assert_problem(r, 422)["detail"]
