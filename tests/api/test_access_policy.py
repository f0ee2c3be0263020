"""Who may act and see (issue 10): every route x every kind of credential.

The scenario: portfolio A (board carol (chair), dave, erin) with project P (PM paula,
sponsor sam, sign-off by sid, a gate review and an escalated change request open) and
project P2 (a conditional go whose condition olga owns); dave delegates to dan for A.
Portfolio B (board bob) with project Q. audrey is an auditor, adam a pmo_admin, nina
holds nothing.

Who sees what is written out here by hand (``SEES``), not computed from the policy.
Every refusal is checked to write nothing: the log's head and every read model's rows
are the same after it. Then every permitted call is made and must pass the access check.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.access import POLICIES
from api.app import create_app
from api.pages.render import asset_url
from api.pages.sessions import bearer_csrf, mint_link
from api.settings import Settings
from eventstore.schema import StoreNames
from tests.api.conftest import SECRET, app_settings
from tests.api.scenario import Api
from tests.conftest import drop_store_schema

AUDIENCE, ISSUER = "gateledger-test", "https://idp.example.test"
GLOBAL = {"audrey": ("auditor",), "adam": ("pmo_admin",)}
PEOPLE = ("paula", "sam", "sid", "dave", "carol", "dan", "olga", "bob", "nina", "audrey", "adam")
BAD_TOKENS = ("none", "expired", "not-yet-valid", "audience", "issuer", "alg-none", "forged")

# Who sees each object (besides audrey and adam, who see everything).
SEES = {
    "A": {"dave", "carol", "dan"},
    "P": {"paula", "sam", "sid", "dave", "carol", "dan"},
    "P2": {"paula", "sam", "dave", "carol", "dan", "olga"},
    "B": {"bob"},
    "Q": {"bob"},
}
EVERYONE_SEES = {"audrey", "adam"}


def test_every_route_has_exactly_one_policy() -> None:
    """A route without a policy entry fails here (and is refused at run time)."""
    app = create_app(Settings(jwt_secret=SECRET, data_dir=Path("/nonexistent")))
    operations = {
        h.operation_id
        for r in app.routes
        if isinstance(r, HTTPRoute)
        for h in r.route_handlers
        if h.operation_id and not r.path.startswith("/docs")
    }
    assert operations - set(POLICIES) == set(), "routes without a policy"
    assert set(POLICIES) - operations == set(), "policies for routes that do not exist"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_token(kind: str) -> dict[str, str]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "dave", "aud": AUDIENCE, "iss": ISSUER, "exp": now + 600}
    secret = SECRET
    if kind == "none":
        return {}
    if kind == "expired":
        claims["exp"] = now - 3600
    elif kind == "not-yet-valid":
        claims["nbf"] = now + 3600
    elif kind == "audience":
        claims["aud"] = "someone-else"
    elif kind == "issuer":
        claims["iss"] = "https://evil.example"
    elif kind == "alg-none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        return {"Authorization": f"Bearer {token}"}
    elif kind == "forged":
        secret = "not-the-server-secret-" + "y" * 40
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}


class World:
    """The scenario's ids, and a client that speaks as anyone."""

    conn: asyncpg.Connection  # to the test's database, once the world is built

    def __init__(self, api: Api, database_url: str, schema: str) -> None:
        self.api, self.database_url = api, database_url
        self.names = StoreNames(schema=schema)
        self.ids: dict[str, str] = {}

    def headers(self, who: str) -> dict[str, str]:
        if who in BAD_TOKENS:
            return bad_token(who)
        return self.api.auth(who, *GLOBAL.get(who, ()))

    async def call(self, method: str, path: str, who: str, body: Any = None) -> Any:
        return await self.api.client.request(
            method,
            path,
            headers=self.headers(who),
            content=None if body is None else json.dumps(body),
        )


async def build(api: Api, world: World) -> None:
    ids = world.ids
    ids["A"] = await api.portfolio()
    ids["P"] = await api.project(ids["A"])
    ids["P2"] = await api.project(ids["A"], name="Second")
    ids["B"] = await api.portfolio(name="Other", board={"members": ["bob", "bea"], "chair": "bob"})
    ids["Q"] = await api.project(ids["B"], name="Elsewhere", pm="quinn", sponsor="quentin")
    # P2: a conditional go whose condition olga owns
    await api.review(ids["P2"])
    for voter in ("dave", "erin"):
        assert (await api.vote(ids["P2"], voter)).status_code == 200
    ids["condition"] = str(uuid.uuid4())
    condition = {"description": "Fix the plan", "owner": "olga", "due": "2030-01-01"}
    r = await api.decide(ids["P2"], "CONDITIONAL_GO", conditions=[condition])
    assert r.status_code == 200, r.text
    decided = await api.state(ids["P2"])
    ids["condition"] = decided["conditions"][0]["id"]
    # P: a review open, an escalated change request, a sign-off by sid
    await api.review(ids["P"])
    cr = {
        "title": "Double it",
        "description": "Much more",
        "cost_delta": {"amount": "200000.00", "currency": "EUR"},
        "schedule_delta_days": 90,
    }
    r = await api.post(f"/projects/{ids['P']}/change-requests", "paula", cr)
    assert r.status_code == 201, r.text
    ids["CR"] = r.json()["id"]
    r = await api.post(f"/change-requests/{ids['CR']}/submit", "paula", None)
    assert r.status_code == 200, r.text
    signoff = {
        "deliverable": "Business case",
        "version": "1.0",
        "content_hash": "sha256:1",
        "signatories": ["sid"],
    }
    r = await api.post(f"/projects/{ids['P']}/signoffs", "paula", signoff)
    assert r.status_code == 201, r.text
    ids["SO"] = r.json()["id"]
    # a webhook subscription, which the delegation below gives a delivery (failing)
    hook = {"url": "https://hooks.example.invalid/gl", "event_types": ["Delegation.Delegated"]}
    r = await api.post("/webhooks", "adam", hook, "pmo_admin")
    assert r.status_code == 201, r.text
    ids["WH"] = r.json()["id"]
    ends = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = await api.post(
        "/delegations", "dave", {"delegate": "dan", "ends": ends, "portfolio_id": ids["A"]}
    )
    assert r.status_code == 201, r.text
    ids["DL"] = r.json()["details"]["delegation_id"]
    ids["WD"] = await first_delivery(api, ids["WH"])
    lean = {
        "name": "Lean",
        "gates": [{"name": n, "opens_stage": s} for n, s in (("G0", "Initiation"), ("G1", "x"))],
        "reason": "the library's first",
    }
    r = await api.post("/templates", "adam", lean, "pmo_admin")
    assert r.status_code == 201, r.text
    r = await api.get(f"/projects/{ids['P']}?min_position={api.last_position}")
    assert r.status_code == 200


async def first_delivery(api: Api, webhook_id: str) -> str:
    """The id of the subscription's first delivery, once the dispatcher has queued it."""
    for _ in range(200):
        r = await api.get(f"/webhooks/{webhook_id}/deliveries", "adam", "pmo_admin")
        assert r.status_code == 200, r.text
        if r.json()["items"]:
            return str(r.json()["items"][0]["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the dispatcher queued no delivery")


def seen(obj: str) -> set[str]:
    return SEES[obj] | EVERYONE_SEES


def routes(ids: dict[str, str]) -> list[tuple[str, str, str, Any, str | None, set[str]]]:
    """(operation, method, path, body, object it is about, who may call it)."""
    a, p, p2, q = ids["A"], ids["P"], ids["P2"], ids["Q"]
    cr, so = ids["CR"], ids["SO"]
    project = {
        "portfolio_id": a,
        "name": "New",
        "pm": "paula",
        "sponsor": "sam",
        "baseline": {
            "budget": {"amount": "1000.00", "currency": "EUR"},
            "start": "2027-01-01",
            "end": "2027-12-31",
            "scope": "x",
        },
        "tolerances": {"cost_pct": "10", "schedule_days": 30},
    }
    portfolio = {
        "name": "Third",
        "objectives": ["x"],
        "envelope": {"amount": "1000.00", "currency": "EUR"},
        "board": {"members": ["carol", "erin"], "chair": "carol"},
    }
    cr_body = {
        "title": "Small",
        "description": "A little more",
        "cost_delta": {"amount": "10.00", "currency": "EUR"},
        "schedule_delta_days": 1,
    }
    signoff = {
        "deliverable": "Plan",
        "version": "2",
        "content_hash": "sha256:3",
        "signatories": ["sid"],
    }
    ends = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    vote = {"vote": "approve", "rationale": "fine"}
    evidence = {"evidence": [{"title": "More", "content_hash": "sha256:2"}]}
    anyone = set(PEOPLE)
    return [
        ("health", "GET", "/health", None, None, anyone | set(BAD_TOKENS)),
        ("liveness", "GET", "/livez", None, None, anyone | set(BAD_TOKENS)),
        ("readiness", "GET", "/readyz", None, None, anyone | set(BAD_TOKENS)),
        ("metrics", "GET", "/metrics", None, None, anyone | set(BAD_TOKENS)),
        ("checkpointPublicKey", "GET", "/audit/public-key", None, None, anyone | set(BAD_TOKENS)),
        ("listPortfolios", "GET", "/portfolios", None, None, anyone),
        ("getPortfolio", "GET", f"/portfolios/{a}", None, "A", seen("A")),
        ("getPortfolio", "GET", f"/portfolios/{a}?as_of=1", None, "A", seen("A")),
        ("listProjects", "GET", "/projects", None, None, anyone),
        ("getProject", "GET", f"/projects/{p}", None, "P", seen("P")),
        ("getProject", "GET", f"/projects/{p}?as_of=3", None, "P", seen("P")),
        ("getProjectHistory", "GET", f"/projects/{p}/history", None, "P", seen("P")),
        (
            "getGateDecision",
            "GET",
            f"/projects/{p2}/gates/G0/decisions/1",
            None,
            "P2",
            seen("P2"),
        ),
        ("getPortfolioHistory", "GET", f"/portfolios/{a}/history", None, "A", seen("A")),
        ("listChangeRequests", "GET", f"/projects/{p}/change-requests", None, "P", seen("P")),
        ("getChangeRequest", "GET", f"/change-requests/{cr}", None, "P", seen("P")),
        (
            "getChangeRequestHistory",
            "GET",
            f"/change-requests/{cr}/history",
            None,
            "P",
            seen("P"),
        ),
        ("listSignOffs", "GET", f"/projects/{p}/signoffs", None, "P", seen("P")),
        ("getSignOff", "GET", f"/signoffs/{so}", None, "P", seen("P")),
        ("getSignOffHistory", "GET", f"/signoffs/{so}/history", None, "P", seen("P")),
        ("getInbox", "GET", "/me/inbox", None, None, anyone),
        # a stream that ends (until=): the test client reads a response to its end
        ("streamEvents", "GET", "/events/stream?after=0&until=1", None, None, anyone),
        *webhooks(ids),
        ("listAuditEvents", "GET", "/audit/events", None, None, {"audrey", "adam"}),
        ("exportAudit", "GET", "/audit/export", None, None, {"audrey"}),
        ("verifyChain", "GET", "/audit/verify", None, None, {"audrey", "adam"}),
        ("listCheckpoints", "GET", "/audit/checkpoints", None, None, {"audrey", "adam"}),
        ("takeCheckpoint", "POST", "/audit/checkpoints", None, None, {"audrey", "adam"}),
        ("createPortfolio", "POST", "/portfolios", portfolio, None, {"adam"}),
        ("createProject", "POST", "/projects", project, None, {"adam"}),
        ("cancelProject", "POST", f"/projects/{q}/cancel", {"reason": "r"}, "Q", {"adam"}),
        ("requestGateReview", "POST", f"/projects/{p}/gates/G0/review", evidence, "P", {"paula"}),
        ("amendGateEvidence", "POST", f"/projects/{p}/gates/G0/evidence", evidence, "P", {"paula"}),
        ("castGateVote", "POST", f"/projects/{p}/gates/G0/votes", vote, "P", {"dave", "carol"}),
        (
            "decideGate",
            "POST",
            f"/projects/{p}/gates/G0/decision",
            {"decision": "HOLD", "rationale": "wait"},
            "P",
            {"carol"},
        ),
        (
            "closeCondition",
            "POST",
            f"/projects/{p2}/conditions/{ids['condition']}/close",
            {"note": "done"},
            "P2",
            {"olga", "paula"},
        ),
        ("draftChangeRequest", "POST", f"/projects/{p}/change-requests", cr_body, "P", {"paula"}),
        (
            "assessChangeRequest",
            "POST",
            f"/change-requests/{cr}/assess",
            {"assessment": "ok"},
            "P",
            {"adam"},
        ),
        (
            "voteChangeRequest",
            "POST",
            f"/change-requests/{cr}/votes",
            vote,
            "P",
            {"dave", "carol", "sam"},
        ),
        (
            "decideChangeRequest",
            "POST",
            f"/change-requests/{cr}/decision",
            {"decision": "defer", "rationale": "later"},
            "P",
            {"carol"},
        ),
        (
            "implementChangeRequest",
            "POST",
            f"/change-requests/{cr}/implement",
            None,
            "P",
            {"paula"},
        ),
        ("amendChangeRequest", "POST", f"/change-requests/{cr}/amend", cr_body, "P", {"paula"}),
        ("submitChangeRequest", "POST", f"/change-requests/{cr}/submit", None, "P", {"paula"}),
        (
            "withdrawChangeRequest",
            "POST",
            f"/change-requests/{cr}/withdraw",
            {"reason": "no"},
            "P",
            {"paula"},
        ),
        ("requestSignOff", "POST", f"/projects/{p}/signoffs", signoff, "P", {"paula"}),
        ("signSignOff", "POST", f"/signoffs/{so}/sign", {"comment": "ok"}, "P", {"sid"}),
        ("declineSignOff", "POST", f"/signoffs/{so}/decline", {"comment": "no"}, "P", {"sid"}),
        (
            "delegate",
            "POST",
            "/delegations",
            {"delegate": "zed", "ends": ends},
            None,
            anyone,  # their own authority, whatever it is (a delegate sees what they see)
        ),
        ("revokeDelegation", "DELETE", f"/delegations/{ids['DL']}", None, None, {"dave", "adam"}),
        ("listDelegations", "GET", "/delegations?direction=received", None, None, anyone),
        *administration(ids),
        *template_library(ids),
    ]


def webhooks(ids: dict[str, str]) -> list[tuple[str, str, str, Any, str | None, set[str]]]:
    """The PMO's webhook subscriptions (deleted last)."""
    hook, delivery = ids["WH"], ids["WD"]
    body = {"url": "https://hooks.example.invalid/other"}
    return [
        ("createWebhook", "POST", "/webhooks", body, None, {"adam"}),
        ("listWebhooks", "GET", "/webhooks", None, None, {"adam"}),
        ("getWebhook", "GET", f"/webhooks/{hook}", None, None, {"adam"}),
        ("listWebhookDeliveries", "GET", f"/webhooks/{hook}/deliveries", None, None, {"adam"}),
        (
            "redeliverWebhookDelivery",
            "POST",
            f"/webhooks/{hook}/deliveries/{delivery}/redeliver",
            None,
            None,
            {"adam"},
        ),
        ("deleteWebhook", "DELETE", f"/webhooks/{hook}", None, None, {"adam"}),
    ]


def administration(ids: dict[str, str]) -> list[tuple[str, str, str, Any, str | None, set[str]]]:
    """The PMO's administration of governance (pmo_admin only): last, as it changes A and P2."""
    a, p2 = ids["A"], ids["P2"]
    board = {
        "board": {"members": ["carol", "dave", "erin", "fay"], "chair": "carol"},
        "reason": "r",
    }
    envelope = {"envelope": {"amount": "2000000.00", "currency": "EUR"}, "reason": "more"}
    role = {"action": "assign", "role": "stakeholder", "person": "stan", "reason": "joins"}
    baseline = {
        "baseline": {
            "budget": {"amount": "300000.00", "currency": "EUR"},
            "start": "2027-01-01",
            "end": "2028-03-31",
            "scope": "more",
        },
        "reason": "replanned",
    }
    return [
        ("changeBoard", "POST", f"/portfolios/{a}/board", board, "A", {"adam"}),
        ("changeEnvelope", "POST", f"/portfolios/{a}/envelope", envelope, "A", {"adam"}),
        ("changeProjectRole", "POST", f"/projects/{p2}/roles", role, "P2", {"adam"}),
        ("holdProject", "POST", f"/projects/{p2}/hold", {"reason": "wait"}, "P2", {"adam"}),
        ("resumeProject", "POST", f"/projects/{p2}/resume", {"reason": "go"}, "P2", {"adam"}),
        ("rebaselineProject", "POST", f"/projects/{p2}/rebaseline", baseline, "P2", {"adam"}),
    ]


TEMPLATE = {
    "gates": [
        {"name": "G0", "opens_stage": "Initiation", "quorum": 2},
        {"name": "G1", "opens_stage": "Closed"},
    ],
    "reason": "two gates",
}


def template_library(ids: dict[str, str]) -> list[tuple[str, str, str, Any, str | None, set[str]]]:
    """The template library (build made "Lean" v1): last, as the PMO moves A and P2 to it."""
    a, p2 = ids["A"], ids["P2"]
    lean = {"name": "Lean", "version": 1, "reason": "lean for all"}
    anyone = set(PEOPLE)
    return [
        ("listTemplates", "GET", "/templates", None, None, anyone),
        ("getTemplate", "GET", "/templates/Lean", None, None, anyone),
        ("getTemplateVersion", "GET", "/templates/Lean/versions/1", None, None, anyone),
        ("createTemplate", "POST", "/templates", {**TEMPLATE, "name": "Other"}, None, {"adam"}),
        ("publishTemplateVersion", "POST", "/templates/Lean/versions", TEMPLATE, None, {"adam"}),
        ("changePortfolioTemplate", "POST", f"/portfolios/{a}/template", lean, "A", {"adam"}),
        ("migrateProjectTemplate", "POST", f"/projects/{p2}/template", lean, "P2", {"adam"}),
    ]


# Routes that need a global role: refused with 403 before anything is looked up.
NEEDS_GLOBAL_ROLE = {
    # pages (more_pages)
    "pageAuditor",
    "pageAuditExport",
    "pageAdministration",
    "pageChangeBoard",
    "pageChangeProjectRole",
    "pageHoldProject",
    "pageResumeProject",
    "createWebhook",
    "listWebhooks",
    "getWebhook",
    "deleteWebhook",
    "listWebhookDeliveries",
    "redeliverWebhookDelivery",
    "listAuditEvents",
    "exportAudit",
    "verifyChain",
    "listCheckpoints",
    "takeCheckpoint",
    "createPortfolio",
    "createProject",
    "cancelProject",
    "assessChangeRequest",
    "changeBoard",
    "changeEnvelope",
    "changeProjectRole",
    "holdProject",
    "resumeProject",
    "rebaselineProject",
    "createTemplate",
    "publishTemplateVersion",
    "changePortfolioTemplate",
    "migrateProjectTemplate",
}


def expected_refusal(operation: str, obj: str | None, who: str) -> int:
    if who in BAD_TOKENS:
        return 401
    if operation in NEEDS_GLOBAL_ROLE:
        return 403
    if operation == "revokeDelegation":
        return 404  # looked up in the caller's own delegations: someone else's is not there
    if obj is not None and who not in SEES[obj] | EVERYONE_SEES:
        return 404  # as if it did not exist
    return 403  # sees it, but the domain's rule says no


@pytest.fixture
async def world(database_url: str, schema_name: str, tmp_path: Path) -> Any:
    settings = app_settings(
        database_url, schema_name, tmp_path, jwt_audience=AUDIENCE, jwt_issuer=ISSUER
    )
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://testserver.local/api/v1"
    ) as client:
        api = Api(client, settings)
        w = World(api, database_url, schema_name)
        await build(api, w)
        w.conn = await asyncpg.connect(database_url)
        try:
            yield w
        finally:
            await w.conn.close()
    await drop_store_schema(database_url, schema_name)


async def head(w: World) -> int:
    return (
        await w.conn.fetchval(f"SELECT max(notification_id) FROM {w.names.q(w.names.events)}") or 0
    )


async def caught_up(w: World, position: int) -> None:
    """Wait until every read model has applied ``position`` (the app runs on the test
    client's own loop: ask it over HTTP)."""
    r = await w.call("GET", f"/me/inbox?min_position={position}", "adam")
    assert r.status_code == 200, r.text


async def read_models(w: World) -> dict[str, str]:
    """Every read model's rows (and the checkpoints), digested, once projected to the head."""
    await caught_up(w, await head(w))
    tables = await w.conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND "
        "(tablename LIKE 'rm\\_%' OR tablename IN ('gl_checkpoints', 'gl_set_aside'))",
        w.names.schema,
    )
    out = {}
    for (name,) in tables:
        out[name] = await w.conn.fetchval(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            f"FROM {w.names.q(name)} t"
        )
    assert "rm_access_roles" in out and "rm_projects" in out
    return out


async def test_every_route_by_every_credential(world: World) -> None:
    w = world
    table = routes(w.ids)
    covered = {r[0] for r in table} | {r[0] for r in page_routes(w)}
    assert covered == set(POLICIES), "the matrix must cover every route"
    refusals = 0
    for operation, method, path, body, obj, allowed in table:
        before_models = await read_models(w)
        for who in (*BAD_TOKENS, *PEOPLE):
            if who in allowed:
                continue
            before = await head(w)
            r = await w.call(method, path, who, body)
            want = expected_refusal(operation, obj, who)
            assert r.status_code == want, (operation, path, who, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert await head(w) == before, (operation, who, "wrote to the log")
            refusals += 1
        assert await read_models(w) == before_models, (operation, "changed a read model")
    assert refusals > 400
    # Then every permitted caller passes the access check (the domain may still say the
    # state does not allow it now: 409).
    for operation, method, path, body, _obj, allowed in table:
        for who in sorted(allowed):
            if who in BAD_TOKENS:
                continue
            r = await w.call(method, path, who, body)
            ok = {200, 201} if method == "GET" else {200, 201, 409}
            assert r.status_code in ok, (operation, path, who, r.status_code, r.text)


# --- the web pages (api/pages): the same rules, answered as pages --------------------------

PAGE = "http://testserver.local"


def page_routes(w: World) -> list[tuple[str, str, str, Any, str | None, set[str]]]:
    """(operation, method, path, form, object it is about, who may call it), as
    ``routes``; paths from the server's root, forms sent with the caller's CSRF token."""
    p = w.ids["P"]
    anyone, everyone = set(PEOPLE), set(PEOPLE) | set(BAD_TOKENS)
    link = mint_link(w.api.settings, PAGE, "dave").partition("token=")[2]
    vote = {"gate": "G0", "vote": "approve", "rationale": "fine"}
    decide = {"gate": "G0", "decision": "HOLD", "rationale": "wait"}
    return [
        ("pageAsset", "GET", asset_url("pages.css"), None, None, everyone),
        ("pageHome", "GET", "/", None, None, everyone),
        ("pageSignIn", "GET", "/sign-in", None, None, everyone),
        ("pageSignInLink", "GET", f"/sign-in/link?token={link}", None, None, everyone),
        ("signInByLink", "POST", "/sign-in/link", {"token": link}, None, everyone),
        ("pageInbox", "GET", "/inbox", None, None, anyone),
        ("pageGateReview", "GET", f"/projects/{p}/review", None, "P", seen("P")),
        ("pageCastGateVote", "POST", f"/projects/{p}/review/vote", vote, "P", {"dave", "carol"}),
        ("pageDecideGate", "POST", f"/projects/{p}/review/decide", decide, "P", {"carol"}),
        ("pageLive", "GET", "/live?until=0", None, None, anyone),
        ("signOut", "POST", "/sign-out", {}, None, anyone),
        *more_pages(w),
    ]


def more_pages(w: World) -> list[tuple[str, str, str, Any, str | None, set[str]]]:
    """The project, decision record, change request, sign-off, portfolio, auditor and
    administration pages (permitted calls run in this order: hold before resume)."""
    a, p, p2, cr, so = (w.ids[k] for k in ("A", "P", "P2", "CR", "SO"))
    anyone = set(PEOPLE)
    vote = {"vote": "approve", "rationale": "fine"}
    board = {"members": "carol, dave, erin, fay", "chair": "carol", "reason": "r"}
    role = {"action": "assign", "role": "stakeholder", "person": "stan", "reason": "joins"}
    adam = {"adam"}
    return [
        ("pageProject", "GET", f"/projects/{p}", None, "P", seen("P")),
        ("pageProject", "GET", f"/projects/{p}?as_of=3", None, "P", seen("P")),
        ("pageDecisionRecord", "GET", f"/projects/{p2}/decisions/G0/1", None, "P2", seen("P2")),
        ("pageChangeRequest", "GET", f"/change-requests/{cr}", None, "P", seen("P")),
        (
            "pageVoteChangeRequest",
            "POST",
            f"/change-requests/{cr}/vote",
            vote,
            "P",
            {"dave", "carol", "sam"},
        ),
        (
            "pageDecideChangeRequest",
            "POST",
            f"/change-requests/{cr}/decide",
            {"decision": "defer", "rationale": "later"},
            "P",
            {"carol"},
        ),
        ("pageSignOff", "GET", f"/signoffs/{so}", None, "P", seen("P")),
        ("pageSignSignOff", "POST", f"/signoffs/{so}/sign", {"comment": "ok"}, "P", {"sid"}),
        ("pageDeclineSignOff", "POST", f"/signoffs/{so}/decline", {"comment": "no"}, "P", {"sid"}),
        ("pagePortfolios", "GET", "/portfolios", None, None, anyone),
        ("pagePortfolio", "GET", f"/portfolios/{a}", None, "A", seen("A")),
        ("pageAuditor", "GET", "/auditor?actor=dave", None, None, {"audrey", "adam"}),
        ("pageAuditExport", "GET", "/auditor/export?format=csv", None, None, {"audrey"}),
        ("pageAdministration", "GET", f"/admin?project_id={p2}", None, None, {"adam"}),
        ("pageChangeBoard", "POST", f"/admin/portfolios/{a}/board", board, "A", {"adam"}),
        ("pageChangeProjectRole", "POST", f"/admin/projects/{p2}/roles", role, "P2", {"adam"}),
        ("pageHoldProject", "POST", f"/admin/projects/{p2}/hold", {"reason": "w"}, "P2", {"adam"}),
        ("pageResumeProject", "POST", f"/admin/projects/{p2}/resume", {"reason": "g"}, "P2", adam),
    ]


async def call_page(w: World, method: str, path: str, who: str, form: Any) -> Any:
    headers = w.headers(who)
    if form is not None and who not in BAD_TOKENS:
        form = {**form, "csrf": bearer_csrf(w.api.settings, who)}
    return await w.api.client.request(
        method, PAGE + path, headers=headers, data=form, follow_redirects=False
    )


async def test_every_page_by_every_credential(world: World) -> None:
    """Pages answer refusals as pages, with the API's status: no sign-in (a GET goes to
    the sign-in page), a bad token 401, an outsider 404, the domain's rule 403; none
    writes anything."""
    w = world
    refusals = 0
    for operation, method, path, form, obj, allowed in page_routes(w):
        before_models = await read_models(w)
        for who in (*BAD_TOKENS, *PEOPLE):
            if who in allowed:
                continue
            before = await head(w)
            r = await call_page(w, method, path, who, form)
            if who == "none" and method == "GET":
                assert r.status_code == 303, (operation, r.status_code)
                assert r.headers["location"].startswith("/sign-in?next="), operation
            else:
                want = expected_refusal(operation, obj, who)
                assert r.status_code == want, (operation, path, who, r.status_code, r.text)
                assert r.headers["content-type"].startswith("text/html"), (operation, who)
            assert await head(w) == before, (operation, who, "wrote to the log")
            refusals += 1
        assert await read_models(w) == before_models, (operation, "changed a read model")
    assert refusals > 40
    for operation, method, path, form, _obj, allowed in page_routes(w):
        for who in sorted(allowed - set(BAD_TOKENS)):
            r = await call_page(w, method, path, who, form)
            ok = {200, 303} if method == "GET" else {303, 400, 409}
            assert r.status_code in ok, (operation, path, who, r.status_code, r.text)


async def test_lists_show_only_what_each_person_sees(world: World) -> None:
    w, ids = world, world.ids
    projects = {"P", "P2", "Q"}
    portfolios = {"A", "B"}
    for who in PEOPLE:
        r = await w.call("GET", "/projects?limit=500", who)
        assert r.status_code == 200, r.text
        got = {i["id"] for i in r.json()["items"]}
        want = {ids[k] for k in projects if who in SEES[k] | EVERYONE_SEES}
        assert got == want, who
        r = await w.call("GET", "/portfolios?limit=500", who)
        got = {i["id"] for i in r.json()["items"]}
        want = {ids[k] for k in portfolios if who in SEES[k] | EVERYONE_SEES}
        assert got == want, who


async def test_an_id_of_another_kind_is_404_even_for_an_auditor(world: World) -> None:
    ids = world.ids
    for path in (
        f"/projects/{ids['CR']}/history",  # a change request is not a project
        f"/projects/{ids['A']}",  # nor is a portfolio
        f"/portfolios/{ids['P']}",
        f"/change-requests/{ids['SO']}",
        f"/signoffs/{ids['CR']}",
        f"/projects/{uuid.uuid4()}/history",
    ):
        r = await world.call("GET", path, "audrey")
        assert r.status_code == 404, (path, r.text)


async def test_a_delegation_stops_showing_when_revoked(world: World) -> None:
    w, ids = world, world.ids
    assert (await w.call("GET", f"/projects/{ids['P']}", "dan")).status_code == 200
    r = await w.call("DELETE", f"/delegations/{ids['DL']}", "dave")
    assert r.status_code == 200, r.text
    await caught_up(w, r.json()["position"])
    assert (await w.call("GET", f"/projects/{ids['P']}", "dan")).status_code == 404
    assert (await w.call("GET", f"/portfolios/{ids['A']}", "dan")).status_code == 404


def test_the_policy_table_in_docs_names_every_operation() -> None:
    """docs/security.md publishes the policy; an operation missing there fails here."""
    text = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    missing = [op for op in POLICIES if f"`{op}`" not in text]
    assert not missing, f"docs/security.md lacks {missing}"


# --- while the access model lags the log (found by an attacker) --------------------------


@pytest.fixture
async def lagging(database_url: str, schema_name: str, tmp_path: Path) -> Any:
    """An app whose reads wait at most 0.3 s, and a way to hold its access model back:
    a transaction holding the model's tracking row, which the projector must lock to
    apply anything to it."""
    settings = app_settings(database_url, schema_name, tmp_path, min_position_wait_s=0.3)
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://testserver.local/api/v1"
    ) as client:
        api = Api(client, settings)
        conn = await asyncpg.connect(database_url)
        try:
            yield api, conn, StoreNames(schema=schema_name)
        finally:
            await conn.close()
    await drop_store_schema(database_url, schema_name)


async def test_a_command_on_a_hidden_object_never_answers_the_domains_rule_while_the_model_lags(
    lagging: Any,
) -> None:
    """Else an outsider could make the model lag (any write does) and read a hidden
    project's existence and state from 403 and 409 answers."""
    api, conn, names = lagging
    project = await api.project(await api.portfolio())
    await api.review(project)
    await api.state(project)  # every read model has caught up
    vote = {"vote": "approve", "rationale": "me too"}
    path = f"/projects/{project}/gates/G0/votes"
    tracking = names.q(names.tracking)
    async with conn.transaction():
        await conn.execute(f"SELECT 1 FROM {tracking} WHERE application_name = 'access' FOR UPDATE")
        r = await api.post(f"/projects/{project}/gates/G0/evidence", "paula", {"evidence": []})
        assert r.status_code == 200, r.text  # a write the access model cannot apply yet
        head = await conn.fetchval(f"SELECT max(notification_id) FROM {names.q(names.events)}")
        lagged = await api.post(path, "nina", vote)
        assert lagged.status_code == 503, lagged.text  # neither 403 nor 409
        assert lagged.headers["retry-after"] == "1"
        assert (
            await conn.fetchval(f"SELECT max(notification_id) FROM {names.q(names.events)}") == head
        )
    r = await api.post(path, "nina", vote)  # caught up: as if it did not exist
    assert r.status_code == 404, r.text
    r = await api.post(path, "dave", vote)
    assert r.status_code == 200, r.text


async def test_a_change_request_drafted_a_moment_ago_is_submitted_without_waiting_for_the_model(
    lagging: Any,
) -> None:
    """The access model files a change request under its project, so while the model
    does not hold a new one yet, its project decides: the PM submits it at once (the
    submission used to wait for the projector, 2-5x a vote's latency under load), and
    anyone who does not see the project still gets no answer of the domain's."""
    api, conn, names = lagging
    project = await api.project(await api.portfolio())
    await api.state(project)  # every read model has caught up
    draft = {
        "title": "Small",
        "description": "A little more",
        "cost_delta": {"amount": "10.00", "currency": "EUR"},
        "schedule_delta_days": 1,
    }
    tracking, objects = names.q(names.tracking), names.q("rm_access_objects")
    async with conn.transaction():
        await conn.execute(f"SELECT 1 FROM {tracking} WHERE application_name = 'access' FOR UPDATE")
        r = await api.post(f"/projects/{project}/change-requests", "paula", draft)
        assert r.status_code == 201, r.text
        cr = r.json()["id"]
        assert await conn.fetchval(f"SELECT count(*) FROM {objects} WHERE object_id = $1", cr) == 0
        outsider = await api.post(f"/change-requests/{cr}/submit", "nina", None)
        assert outsider.status_code == 503, outsider.text  # it waited, and never a 403
        started = time.monotonic()
        r = await api.post(f"/change-requests/{cr}/submit", "paula", None)
        assert r.status_code == 200, r.text
        assert time.monotonic() - started < 0.3  # decided without waiting (the wait is 0.3 s)
        assert await conn.fetchval(f"SELECT count(*) FROM {objects} WHERE object_id = $1", cr) == 0
    state = await api.client.get(
        f"/change-requests/{cr}?min_position={r.json()['position']}", headers=api.auth("paula")
    )
    assert state.status_code == 200, state.text
    assert state.json()["status"] == "submitted"
    assert (await api.post(f"/change-requests/{cr}/submit", "nina", None)).status_code == 404


async def test_min_position_waits_before_visibility_is_judged(lagging: Any) -> None:
    """A read with the position a delegation (or its revocation) answered sees its effect."""
    api, _conn, _names = lagging
    portfolio = await api.portfolio()
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    for attempt in range(5):
        delegate = f"temp{attempt}"
        body = {"delegate": delegate, "ends": ends, "portfolio_id": portfolio}
        r = await api.post("/delegations", "erin", body)
        assert r.status_code == 201, r.text
        granted = r.json()
        seen = await api.client.get(
            f"/portfolios/{portfolio}?min_position={granted['position']}",
            headers=api.auth(delegate),
        )
        assert seen.status_code == 200, seen.text
        r = await api.client.delete(
            f"/delegations/{granted['details']['delegation_id']}", headers=api.auth("erin")
        )
        assert r.status_code == 200, r.text
        gone = await api.client.get(
            f"/portfolios/{portfolio}?min_position={r.json()['position']}",
            headers=api.auth(delegate),
        )
        assert gone.status_code == 404, gone.text


async def test_refused_commands_on_unknown_ids_count_toward_the_rate_limit(
    database_url: str, schema_name: str, tmp_path: Path
) -> None:
    settings = app_settings(database_url, schema_name, tmp_path, rate_commands=3)
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://testserver.local/api/v1"
    ) as client:
        api = Api(client, settings)
        vote = {"vote": "approve", "rationale": "x"}
        statuses = [
            (await api.post(f"/projects/{uuid.uuid4()}/gates/G0/votes", "nina", vote)).status_code
            for _ in range(5)
        ]
    await drop_store_schema(database_url, schema_name)
    assert statuses == [404, 404, 404, 429, 429]
