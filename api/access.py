"""The one authorisation point: every route's policy, checked by one guard.

Each route (by its operation id) has exactly one entry in ``POLICIES``; a route without
one is refused at run time (500, logged) and fails the test suite
(``tests/api/test_access_policy.py``). The guard runs before the handler:

1. it authenticates the caller (401) unless the route is public;
2. it checks the global roles the route needs (403);
3. for a route that names an object by id, it checks the id is an object of the kind the
   route expects, from the log itself (else 404), and, for anyone who is not a
   ``pmo_admin`` or ``auditor``, that the caller sees it, from the roles recorded in the
   log (``projections.access``; else 404, the same answer as for an id that does not
   exist);
4. it charges the caller's rate limit for commands and expensive reads (429).

Commands then meet the domain's own rule (only the PM requests a review, only board
members vote, ...), checked on the aggregate as loaded, so replay checks it again.
Lists filter with the same visibility rule (``Viewer``).

For a command, "sees" is decided by the access read model only when that model has
caught up with the log: while it lags (a role granted a moment ago), the guard waits for
it, so a command is never refused because a read model is behind. A change request or
sign-off the model does not hold yet is seen exactly as its project (read from the
object itself): its submission right after its draft need not wait.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, TypeGuard
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from api.auth import Principal, principal_of
from api.errors import ProblemError
from api.limits import charge
from api.pages.sessions import page_principal
from api.query_params import check_query_params
from api.raw_input import check_raw_input
from api.reads import caught_up_with_log, ensure_position, utc_now
from eventstore.database import Store
from eventstore.loader import load_aggregate
from projections import access
from workflows.errors import UnknownAggregate

log = logging.getLogger(__name__)

Kind = Literal["portfolio", "project", "change_request", "signoff"]
Bucket = Literal["command", "expensive"]
EVERYTHING = ("pmo_admin", "auditor")  # global roles that see every object

# The aggregate each kind of id names, as the log's first event of it says.
_AGGREGATE_OF: dict[str, str] = {
    "portfolio": "Portfolio",
    "project": "Project",
    "change_request": "ChangeRequest",
    "signoff": "SignOff",
}
_WORDS: dict[str, str] = {
    "portfolio": "portfolio",
    "project": "project",
    "change_request": "change request",
    "signoff": "sign-off request",
}


@dataclass(frozen=True)
class Policy:
    """Who may call a route.

    ``public``: no token needed. Otherwise a valid token, and: ``roles``, if any, one of
    these global roles; ``kind``/``param``, the path parameter naming an object of this
    kind, which the caller must see (readers) or which the domain's rule ``rule`` then
    judges (commands). ``bucket``: the rate limit the call is charged to."""

    rule: str
    public: bool = False
    roles: tuple[str, ...] = ()
    kind: Kind | None = None
    param: str | None = None
    command: bool = False
    bucket: Bucket | None = None
    listed: Kind | None = None  # a list filtered to what the caller sees
    page: bool = False  # a web page: signed in by session or bearer token, CSRF on POST


def public(rule: str) -> Policy:
    return Policy(rule, public=True)


def signed_in(rule: str, *, bucket: Bucket | None = None, listed: Kind | None = None) -> Policy:
    return Policy(rule, bucket=bucket, listed=listed)


def global_role(rule: str, *roles: str, bucket: Bucket | None = None, **of: str) -> Policy:
    name, param = next(iter(of.items()), (None, None))
    kind: Kind | None = None
    if name is not None:
        if not _is_kind(name):
            raise ValueError(f"global_role(..., {name}=...): not a kind of object")
        kind = name
    return Policy(
        rule, roles=roles, kind=kind, param=param, bucket=bucket, command=bucket == "command"
    )


def _is_kind(name: str) -> TypeGuard[Kind]:
    return name in _WORDS


def sees(kind: Kind, param: str, *, bucket: Bucket | None = None) -> Policy:
    return Policy(f"sees the {_WORDS[kind]}", kind=kind, param=param, bucket=bucket)


def acts(kind: Kind, param: str, rule: str) -> Policy:
    return Policy(rule, kind=kind, param=param, command=True, bucket="command")


def page(policy: Policy) -> Policy:
    """The same rule for a web page (``api.pages``): its caller is signed in by the
    session cookie or a bearer token, and a POST must carry the session's CSRF token."""
    return replace(policy, page=True)


POLICIES: dict[str, Policy] = {
    "health": public("anyone"),
    "liveness": public("anyone"),
    "readiness": public("anyone"),
    # public unless GATELEDGER_METRICS_TOKEN is set; then that bearer token (the handler
    # checks it: it is no person's token)
    "metrics": public("anyone, or whoever holds GATELEDGER_METRICS_TOKEN if set"),
    "checkpointPublicKey": public("anyone"),
    # portfolios and projects
    "createPortfolio": global_role("pmo_admin", "pmo_admin", bucket="command"),
    "listPortfolios": signed_in("anyone signed in; lists what they see", listed="portfolio"),
    "getPortfolio": sees("portfolio", "portfolio_id"),
    "createProject": global_role("pmo_admin", "pmo_admin", bucket="command"),
    "listProjects": signed_in("anyone signed in; lists what they see", listed="project"),
    "getProject": sees("project", "project_id"),
    "getProjectHistory": sees("project", "project_id", bucket="expensive"),
    "getPortfolioHistory": sees("portfolio", "portfolio_id", bucket="expensive"),
    "cancelProject": global_role("pmo_admin", "pmo_admin", bucket="command", project="project_id"),
    # the PMO's administration of governance (api/controllers/administration.py)
    "changeBoard": global_role(
        "pmo_admin", "pmo_admin", bucket="command", portfolio="portfolio_id"
    ),
    "changeEnvelope": global_role(
        "pmo_admin", "pmo_admin", bucket="command", portfolio="portfolio_id"
    ),
    "changeProjectRole": global_role(
        "pmo_admin", "pmo_admin", bucket="command", project="project_id"
    ),
    "holdProject": global_role("pmo_admin", "pmo_admin", bucket="command", project="project_id"),
    "resumeProject": global_role("pmo_admin", "pmo_admin", bucket="command", project="project_id"),
    "rebaselineProject": global_role(
        "pmo_admin", "pmo_admin", bucket="command", project="project_id"
    ),
    # the template library (api/controllers/templates.py); governance rules are not secret
    "createTemplate": global_role("pmo_admin", "pmo_admin", bucket="command"),
    "publishTemplateVersion": global_role("pmo_admin", "pmo_admin", bucket="command"),
    "listTemplates": signed_in("anyone signed in"),
    "getTemplate": signed_in("anyone signed in"),
    "getTemplateVersion": signed_in("anyone signed in"),
    "changePortfolioTemplate": global_role(
        "pmo_admin", "pmo_admin", bucket="command", portfolio="portfolio_id"
    ),
    "migrateProjectTemplate": global_role(
        "pmo_admin", "pmo_admin", bucket="command", project="project_id"
    ),
    # gates
    "requestGateReview": acts("project", "project_id", "the project's PM"),
    "amendGateEvidence": acts("project", "project_id", "the project's PM"),
    "castGateVote": acts("project", "project_id", "a board member, or their active delegate"),
    "decideGate": acts("project", "project_id", "the board's chair, or their active delegate"),
    "closeCondition": acts("project", "project_id", "the condition's owner or the PM"),
    "getGateDecision": sees("project", "project_id", bucket="expensive"),
    # change requests
    "draftChangeRequest": acts("project", "project_id", "the project's PM"),
    "listChangeRequests": sees("project", "project_id"),
    "getChangeRequest": sees("change_request", "change_request_id"),
    "getChangeRequestHistory": sees("change_request", "change_request_id", bucket="expensive"),
    "submitChangeRequest": acts("change_request", "change_request_id", "the submitter"),
    "amendChangeRequest": acts("change_request", "change_request_id", "the submitter"),
    "withdrawChangeRequest": acts("change_request", "change_request_id", "the submitter"),
    "assessChangeRequest": global_role(
        "pmo_admin", "pmo_admin", bucket="command", change_request="change_request_id"
    ),
    "voteChangeRequest": acts(
        "change_request",
        "change_request_id",
        "a board member or a mandatory voter such as the sponsor (escalated CRs), or a delegate",
    ),
    "decideChangeRequest": acts(
        "change_request",
        "change_request_id",
        "the sponsor (within tolerance) or the chair (escalated), or their delegate",
    ),
    "implementChangeRequest": acts("change_request", "change_request_id", "the project's PM"),
    # sign-offs
    "requestSignOff": acts("project", "project_id", "the project's PM"),
    "listSignOffs": sees("project", "project_id"),
    "getSignOff": sees("signoff", "signoff_id"),
    "getSignOffHistory": sees("signoff", "signoff_id", bucket="expensive"),
    "signSignOff": acts("signoff", "signoff_id", "a named signatory"),
    "declineSignOff": acts("signoff", "signoff_id", "a named signatory"),
    # delegations and the inbox: about the caller themselves
    "delegate": signed_in("anyone signed in, their own authority", bucket="command"),
    "revokeDelegation": signed_in("the delegator, or a pmo_admin", bucket="command"),
    "listDelegations": signed_in("anyone signed in; their own, given or received"),
    "getInbox": signed_in("anyone signed in; their own inbox"),
    # live updates: each stream filtered to the events on what its person sees
    "streamEvents": signed_in("anyone signed in; the events they see"),
    # the audit trail and the ledger
    "listAuditEvents": global_role("auditor or pmo_admin", *EVERYTHING, bucket="expensive"),
    "exportAudit": global_role("auditor", "auditor", bucket="expensive"),
    "verifyChain": global_role("auditor or pmo_admin", *EVERYTHING, bucket="expensive"),
    "listCheckpoints": global_role("auditor or pmo_admin", *EVERYTHING),
    "takeCheckpoint": global_role("auditor or pmo_admin", *EVERYTHING, bucket="command"),
    # outbound webhooks: the PMO's subscriptions (api/controllers/webhooks.py)
    "createWebhook": global_role("pmo_admin", "pmo_admin", bucket="command"),
    "listWebhooks": global_role("pmo_admin", "pmo_admin"),
    "getWebhook": global_role("pmo_admin", "pmo_admin"),
    "deleteWebhook": global_role("pmo_admin", "pmo_admin", bucket="command"),
    "listWebhookDeliveries": global_role("pmo_admin", "pmo_admin"),
    "redeliverWebhookDelivery": global_role("pmo_admin", "pmo_admin", bucket="command"),
    # web pages (api/pages): the same visibility as the API (an outsider gets 404)
    "pageAsset": public("anyone: the pages' own stylesheet and script"),
    "pageHome": public("anyone: goes to the inbox"),
    "pageSignIn": public("anyone: how to get a sign-in link"),
    "pageSignInLink": public("anyone holding a link: whom it signs in"),
    "signInByLink": public("anyone holding an unused, unexpired sign-in link"),
    "signOut": page(signed_in("anyone signed in; their own session")),
    "pageLive": page(signed_in("anyone signed in; the events they see (the API's stream)")),
    "pageInbox": page(signed_in("anyone signed in; their own inbox")),
    "pageGateReview": page(sees("project", "project_id")),
    "pageCastGateVote": page(
        acts("project", "project_id", "a board member, or their active delegate")
    ),
    "pageDecideGate": page(
        acts("project", "project_id", "the board's chair, or their active delegate")
    ),
    "pageProject": page(sees("project", "project_id")),
    "pageDecisionRecord": page(sees("project", "project_id", bucket="expensive")),
    "pageChangeRequest": page(sees("change_request", "change_request_id")),
    "pageVoteChangeRequest": page(
        acts(
            "change_request",
            "change_request_id",
            "a board member or a mandatory voter such as the sponsor (escalated CRs), "
            "or a delegate",
        )
    ),
    "pageDecideChangeRequest": page(
        acts(
            "change_request",
            "change_request_id",
            "the sponsor (within tolerance) or the chair (escalated), or their delegate",
        )
    ),
    "pageSignOff": page(sees("signoff", "signoff_id")),
    "pageSignSignOff": page(acts("signoff", "signoff_id", "a named signatory")),
    "pageDeclineSignOff": page(acts("signoff", "signoff_id", "a named signatory")),
    "pagePortfolios": page(signed_in("anyone signed in; lists what they see", listed="portfolio")),
    "pagePortfolio": page(sees("portfolio", "portfolio_id")),
    "pageAuditor": page(global_role("auditor or pmo_admin", *EVERYTHING, bucket="expensive")),
    "pageAuditExport": page(global_role("auditor", "auditor", bucket="expensive")),
    "pageAdministration": page(global_role("pmo_admin", "pmo_admin")),
    "pageChangeBoard": page(
        global_role("pmo_admin", "pmo_admin", bucket="command", portfolio="portfolio_id")
    ),
    "pageChangeProjectRole": page(
        global_role("pmo_admin", "pmo_admin", bucket="command", project="project_id")
    ),
    "pageHoldProject": page(
        global_role("pmo_admin", "pmo_admin", bucket="command", project="project_id")
    ),
    "pageResumeProject": page(
        global_role("pmo_admin", "pmo_admin", bucket="command", project="project_id")
    ),
}

# Routes litestar adds: the OpenAPI documents and CORS preflight answer anyone.
_FRAMEWORK_PREFIXES = ("/docs",)


@dataclass(frozen=True)
class Viewer:
    """Whose reads these are: everything for pmo_admin and auditor, else what the
    person's recorded roles (and active delegations to them) reach, at ``at``."""

    person: str
    everything: bool
    at: datetime

    @property
    def seen_by(self) -> tuple[str, datetime] | None:
        """What list queries filter by: None for those who see everything."""
        return None if self.everything else (self.person, self.at)


def policy_of(handler: BaseRouteHandler) -> Policy | None:
    operation_id = getattr(handler, "operation_id", None)  # HTTP route handlers have one
    return POLICIES.get(operation_id) if isinstance(operation_id, str) else None


async def authorise(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The guard on every route (see the module's docstring). Raw input is checked
    first, so bytes that are not UTF-8 in the token are 400, as elsewhere."""
    await check_raw_input(connection)  # type: ignore[arg-type]  # an HTTP route: a Request
    check_query_params(connection)  # 400 for a query parameter the route does not read
    policy = policy_of(handler)
    if policy is None:
        if connection.scope["path"].startswith(_FRAMEWORK_PREFIXES) or (
            connection.scope.get("method") == "OPTIONS"
        ):
            return
        log.error("route %s has no access policy: refused", handler)
        raise ProblemError(500, "this route has no access policy", slug="no-policy")
    if policy.public:
        return
    principal = await page_principal(connection) if policy.page else principal_of(connection)
    if policy.roles and not any(principal.has(r) for r in policy.roles):
        raise PermissionDeniedException(f"this needs the role {' or '.join(policy.roles)}")
    store: Store = connection.app.state.store
    at = utc_now()
    connection.state.viewer = Viewer(principal.sub, any(principal.has(r) for r in EVERYTHING), at)
    await _charge(connection, store, principal, policy)  # 404s cost allowance too
    if policy.kind is not None and policy.param is not None:
        await _wait_if_asked(connection, store)
        await _check_object(connection, store, principal, policy, at)


async def _wait_if_asked(connection: ASGIConnection, store: Store) -> None:
    """``?min_position=N`` waits before visibility is judged, so a read right after the
    command that granted (or revoked) a role sees its effect. Malformed values are left
    to the route's own validation."""
    raw = connection.query_params.get("min_position")
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        await ensure_position(store, connection.app.state.settings, int(raw))


async def _check_object(
    connection: ASGIConnection, store: Store, principal: Principal, policy: Policy, at: datetime
) -> None:
    assert policy.kind is not None and policy.param is not None
    object_id = connection.path_params.get(policy.param)
    if not isinstance(object_id, UUID):  # the route's path declares it a uuid
        raise ProblemError(404, f"no {_WORDS[policy.kind]} here", slug="not-found")
    not_found = UnknownAggregate(f"{_WORDS[policy.kind]} {object_id} not found")
    topic = await store.events.first_topic(object_id)
    if topic is None or _aggregate(store, topic) != _AGGREGATE_OF[policy.kind]:
        raise not_found
    if any(principal.has(r) for r in EVERYTHING):
        return
    if await access.sees(store.pool, store.names, principal.sub, object_id, policy.kind, at):
        return
    if policy.command and await _sees_its_project(store, principal, object_id, policy.kind, at):
        return
    if policy.command:  # a role granted a moment ago: wait for the model to hold it
        await _access_caught_up(connection, store)
        if await access.sees(store.pool, store.names, principal.sub, object_id, policy.kind, at):
            return
    raise not_found


async def _sees_its_project(
    store: Store, principal: Principal, object_id: UUID, kind: Kind, at: datetime
) -> bool:
    """A change request or sign-off is seen exactly as its project is (the access model
    files it under its project and portfolio, ``access.visible_sql``). So when the model
    does not hold one yet (drafted a moment ago, then submitted), its project, read from
    the object itself, decides without waiting for the model to catch up with the log;
    someone who does not see the project still waits for it (a signatory named by the
    request sees it only once the model holds the request)."""
    if kind not in (access.CHANGE_REQUEST, access.SIGNOFF):
        return False
    found = await load_aggregate(store, object_id)  # cached: the command loads it next
    project_id = getattr(found, "project_id", None)
    if not isinstance(project_id, UUID):
        return False
    return await access.sees(store.pool, store.names, principal.sub, project_id, "project", at)


def _aggregate(store: Store, topic: str) -> str:
    return store.mapper.names.canonical(topic).partition(".")[0]


async def _access_caught_up(connection: ASGIConnection, store: Store) -> None:
    """Wait (bounded) until the access model holds every event the log holds now, so a
    command is judged on every role granted before it, and the answer to someone who
    may not see the object is 404 whatever its state (never the domain's 403 or 409,
    which would tell them it exists). 503 with Retry-After if it does not catch up."""
    wait_s = connection.app.state.settings.min_position_wait_s
    await caught_up_with_log(store, wait_s, access.Access.name)


async def _charge(
    connection: ASGIConnection,
    store: Store,
    principal: Principal,
    policy: Policy,
) -> None:
    """Commands, and reads that cost the server (histories, the audit trail, ``as_of``)."""
    bucket = policy.bucket
    if bucket is None and "as_of" in connection.query_params:
        bucket = "expensive"  # a state rebuilt from the log
    if bucket is None:
        return
    await charge(store, connection.app.state.settings, principal.sub, bucket)


async def hidden(
    connection: ASGIConnection, store: Store, viewer: Viewer, kind: Kind, object_id: UUID
) -> bool:
    """Whether an id named in a body is one the caller may not know of: they do not see
    it, once the access model holds every event the log holds now."""
    if viewer.everything:
        return False
    if await access.sees(store.pool, store.names, viewer.person, object_id, kind, viewer.at):
        return False
    await _access_caught_up(connection, store)
    return not await access.sees(store.pool, store.names, viewer.person, object_id, kind, viewer.at)


def viewer_of(connection: ASGIConnection) -> Viewer:
    """The ``Viewer`` the guard left for this request."""
    viewer = getattr(connection.state, "viewer", None)
    if viewer is None:
        raise NotAuthorizedException("not signed in")
    return viewer


async def provide_viewer(request: Request) -> Viewer:
    """Dependency: whose reads these are."""
    return viewer_of(request)
