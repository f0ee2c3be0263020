"""No silent filters (issue 11 item 4): a query parameter a route does not read is 400
problem+json naming it and listing the ones the route takes, and writes nothing; the
parameters a route takes still work, under their names in the URL; the OpenAPI schema
declares exactly what each route accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.query_params import supported_query_params
from api.settings import Settings
from tests.api.conftest import SECRET, app_settings
from tests.api.scenario import Api
from tests.api.test_access_policy import AUDIENCE, BAD_TOKENS, ISSUER, World, build, head, routes
from tests.conftest import drop_store_schema

PROBLEM = "application/problem+json"


def published() -> tuple[Any, dict[str, set[str]]]:
    """An app (no database needed) and each operation's query parameters in its schema."""
    app = create_app(Settings(jwt_secret=SECRET, data_dir=Path("/nonexistent")))
    declared = {
        op["operationId"]: {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        for item in app.openapi_schema.to_schema()["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    return app, declared


def test_the_schema_declares_exactly_the_query_parameters_each_route_accepts() -> None:
    app, declared = published()
    checked = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/docs"):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method == "OPTIONS" or not handler.resolve_include_in_schema():
                continue  # preflight; the web pages (api/pages), which are not the API
            accepted = set(supported_query_params(handler))
            assert isinstance(handler.operation_id, str), (method, route.path)
            assert accepted == declared[handler.operation_id], (method, route.path)
            checked.add(handler.operation_id)
    assert checked == set(declared), "every published operation is a route that checks"
    # The aliased names are the ones in the URL, not the Python names they are bound to.
    assert {"type", "from", "to"} <= declared["listAuditEvents"]
    assert not {"type_", "start", "end"} & declared["listAuditEvents"]


@pytest.fixture
async def world(database_url: str, schema_name: str, tmp_path: Path) -> Any:
    """test_access_policy's scenario: every route has a real object to name."""
    settings = app_settings(
        database_url, schema_name, tmp_path, jwt_audience=AUDIENCE, jwt_issuer=ISSUER
    )
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://testserver.local/api/v1"
    ) as client:
        w = World(Api(client, settings), database_url, schema_name)
        await build(w.api, w)
        w.conn = await asyncpg.connect(database_url)
        try:
            yield w
        finally:
            await w.conn.close()
    await drop_store_schema(database_url, schema_name)


def with_query(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}"


async def test_every_route_refuses_a_parameter_it_does_not_read_and_writes_nothing(
    world: World,
) -> None:
    _, declared = published()
    table = routes(world.ids)
    assert {r[0] for r in table} == set(declared), "the table covers every route"
    for operation, method, path, body, _obj, allowed in table:
        # a caller the route lets through, so only the parameter can be the reason
        who = "adam" if "adam" in allowed else min(set(allowed) - set(BAD_TOKENS))
        before = await head(world)
        r = await world.call(method, with_query(path, "colour=blue"), who, body)
        assert r.status_code == 400, (operation, r.status_code, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        problem = r.json()
        assert problem["unsupported"] == ["colour"], operation
        assert problem["supported"] == sorted(declared[operation]), operation
        assert "'colour'" in problem["detail"], problem
        assert problem["type"].endswith("/unsupported-query-parameter")
        assert await head(world) == before, (operation, "wrote to the log")


async def test_the_audit_trail_filters_by_portfolio_and_answers_only_its_rows(
    world: World,
) -> None:
    """The issue's case: an auditor's ?portfolio_id= answered other portfolios' rows
    (then refused as unsupported; issue 12 made it a filter)."""
    r = await world.call("GET", f"/audit/events?portfolio_id={world.ids['A']}", "audrey")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items and {i["portfolio_id"] for i in items} == {str(world.ids["A"])}


@pytest.mark.parametrize(
    "path",
    [
        "/projects?as_of=40",
        "/portfolios?as_of=40",
        "/projects/{P}/change-requests?as_of=1",
        "/projects/{P}/signoffs?as_of=1",
        "/me/inbox?as_of=1",
        "/projects/{P}/history?as_of=1",
        "/change-requests/{CR}?as_of=1",
        "/signoffs/{SO}?as_of=1",
    ],
)
async def test_as_of_where_no_past_state_is_answered_is_refused_saying_where_it_is(
    world: World, path: str
) -> None:
    r = await world.call("GET", path.format(**world.ids), "audrey")
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["unsupported"] == ["as_of"] and "as_of" not in problem["supported"]
    assert (
        "answered by GET /api/v1/portfolios/{portfolio_id} and GET /api/v1/projects/{project_id}"
    ) in problem["detail"]


async def test_only_unsupported_names_are_named_and_the_first_few_spelled_out(
    world: World,
) -> None:
    names = [f"x{i}" for i in range(8)]
    query = "limit=5&" + "&".join(f"{n}=1" for n in names)
    r = await world.call("GET", f"/projects?{query}", "audrey")
    assert r.status_code == 400
    problem = r.json()
    assert problem["unsupported"] == names
    assert "'x0', 'x1', 'x2', 'x3', 'x4' and 3 more" in problem["detail"]
    # a parameter with no value, or repeated, is still a parameter
    for query in ("bare", "bare&bare=2", "=1"):
        r = await world.call("GET", f"/projects?{query}", "audrey")
        assert r.status_code == 400, (query, r.text)


async def test_the_check_comes_before_authentication_like_the_raw_input_checks(
    world: World,
) -> None:
    """Which parameters a route takes is public (the schema), so nothing leaks."""
    r = await world.call("GET", "/audit/events?colour=x", "none")
    assert r.status_code == 400, r.text
    r = await world.call("GET", "/audit/events?actor=x", "none")
    assert r.status_code == 401, r.text


async def test_supported_parameters_still_work_under_their_names_in_the_url(
    world: World,
) -> None:
    w, ids = world, world.ids
    p, a = ids["P"], ids["A"]
    everything = (await w.call("GET", "/audit/events?limit=500", "audrey")).json()["items"]
    votes = [e for e in everything if e["type"] == "Project.VoteCast"]
    assert votes, "the scenario has votes"
    since, until = quote(votes[0]["at"]), quote(votes[-1]["at"])
    # the aliased filters (type, from, to) filter
    r = await w.call(
        "GET",
        f"/audit/events?type=Project.VoteCast&from={since}&to={until}&actor=dave"
        f"&project_id={ids['P2']}&limit=10&after=0&min_position=1",
        "audrey",
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items and all(e["type"] == "Project.VoteCast" and e["actor"] == "dave" for e in items)
    for python_name in ("type_", "start", "end"):
        r = await w.call("GET", f"/audit/events?{python_name}=x", "audrey")
        assert r.status_code == 400 and r.json()["unsupported"] == [python_name], r.text
    r = await w.call(
        "GET", f"/audit/export?format=csv&type=Project.VoteCast&from={since}", "audrey"
    )
    assert r.status_code == 200, r.text
    for path in (
        f"/projects?portfolio_id={a}&stage=Proposal&status=active&limit=5&after=0&min_position=1",
        "/portfolios?limit=5&after=0&min_position=1",
        f"/projects/{p}?as_of=3&min_position=1",
        f"/portfolios/{a}?as_of=1",
        f"/projects/{p}/history?limit=2&after=1",
        f"/projects/{p}/change-requests?limit=2&min_position=1",
        f"/projects/{p}/signoffs?limit=2&after=0",
        f"/change-requests/{ids['CR']}?min_position=1",
        f"/signoffs/{ids['SO']}?min_position=1",
        "/me/inbox?limit=2&after=0&min_position=1",
        "/audit/verify?start=latest",
        "/audit/checkpoints?limit=2&after=0",
    ):
        r = await w.call("GET", path, "audrey")
        assert r.status_code == 200, (path, r.text)
    r = await w.call("DELETE", f"/delegations/{ids['DL']}?reason=no+longer+needed", "dave")
    assert r.status_code == 200, r.text


async def test_docs_and_preflight_are_exempt(world: World) -> None:
    client = world.api.client
    r = await client.get("http://testserver.local/docs/openapi.json?colour=blue")
    assert r.status_code == 200
    r = await client.options("/projects?colour=blue")
    assert r.status_code != 400, r.text
