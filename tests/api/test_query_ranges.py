"""Every numeric query parameter is range-checked and every time filter validated: 422
problem+json naming the parameter, and the published schema carries the ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import SECRET
from tests.api.scenario import Api

BIGINT_PAST = str(2**63)


@pytest.fixture
def api(client: AsyncTestClient[Any], settings: Settings) -> Api:
    return Api(client, settings)


@pytest.mark.parametrize(
    "query, name",
    [
        ("/projects?limit=0", "limit"),
        ("/projects?limit=501", "limit"),
        ("/projects?limit=" + "9" * 30, "limit"),
        ("/projects?after=-1", "after"),
        ("/projects?after=1e5", "after"),
        ("/projects?after=" + "9" * 19, "after"),
        ("/me/inbox?after=abc", "after"),
        ("/me/inbox?after=%EF%BC%91", "after"),  # a fullwidth 1: a digit, not 0-9
        ("/audit/events?after=" + BIGINT_PAST, "after"),
        ("/projects?min_position=-1", "min_position"),
        ("/portfolios?min_position=" + BIGINT_PAST, "min_position"),
        ("/audit/events?min_position=1.5", "min_position"),
        ("/projects/{project}?as_of=" + BIGINT_PAST, "as_of"),
        ("/projects/{project}?as_of=-1", "as_of"),
        ("/projects/{project}?as_of=%D9%A1%D9%A2", "as_of"),  # Arabic-Indic 1 and 2
        ("/portfolios/{portfolio}?as_of=" + "9" * 40, "as_of"),
        ("/projects/{project}?as_of=" + "9" * 17, "as_of"),  # past the log's head
        ("/portfolios/{portfolio}?as_of=" + "9" * 17, "as_of"),
        ("/projects/{project}?as_of=2027-02-30T00:00:00Z", "as_of"),
        ("/projects/{project}?as_of=0001-01-01T00:00:00%2B00:01", "as_of"),
        ("/audit/events?from=9999-12-31T23:59:59-00:01", "from"),
        ("/audit/events?to=2027-01-01T00:00:00", "to"),
        ("/audit/export?from=yesterday", "from"),
        ("/audit/export?to=0000-01-01T00:00:00Z", "to"),
    ],
)
async def test_out_of_range_query_parameters_are_422_naming_them(
    api: Api, query: str, name: str
) -> None:
    project = await api.project()
    portfolio = (await api.state(project))["portfolio_id"]
    r = await api.get(query.format(project=project, portfolio=portfolio), "auditor", "auditor")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert name in r.text


def test_the_published_schema_carries_the_ranges() -> None:
    app = create_app(Settings(jwt_secret=SECRET, data_dir=Path("/nonexistent")))
    paths = app.openapi_schema.to_schema()["paths"]
    for path in ("/api/v1/projects", "/api/v1/me/inbox", "/api/v1/audit/events"):
        query = {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"]}
        assert query["min_position"]["minimum"] == 0 and query["min_position"]["maximum"]
        assert query["after"]["pattern"] == "^[0-9]*$" and query["after"]["maxLength"] == 18
        assert (query["limit"]["minimum"], query["limit"]["maximum"]) == (1, 500)
