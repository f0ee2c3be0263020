"""Signing in to the pages: single-use links, server-side sessions, CSRF tokens.

A sign-in link (``gateledger link PERSON``) carries a JWT signed with a key derived from
the JWT secret for this one purpose, so a link is never a bearer token for the API nor a
bearer token a link. It names the person, their global roles, where to go and a random
id; opening it shows a button, and pressing it (a POST, so that a mail scanner or a chat
preview fetching the link does not spend it) records the link's id in
``gl_sign_in_links`` (once: a second use is refused) and starts a session in the same
transaction.

A session is a random cookie value (HttpOnly, SameSite=Lax, Secure over TLS) whose
SHA-256 is the key of a row of ``gl_page_sessions`` holding the person, roles, expiry
and the session's CSRF token; signing out deletes the row. Every form POST carries the
CSRF token in a hidden field (``csrf``), checked by the access guard before anything
else happens: the session's token, or, for a page reached with a bearer token (behind
a company's identity provider), an HMAC of the person with the derived key.

Both tables are created by the serving role at start-up (like the rate limits' table)
and are not part of the record: outside the hash chain, pruned of expired rows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import jwt
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

from api.auth import GLOBAL_ROLES, Principal, principal_of
from api.errors import ProblemError
from api.settings import Settings
from domain.bounds import MAX_NAME
from domain.checks import require_label, require_person
from domain.errors import InvalidValue
from eventstore.database import Store
from eventstore.schema import StoreNames

SESSIONS, LINKS = "gl_page_sessions", "gl_sign_in_links"
COOKIE = "gateledger_session"
CSRF_FIELD = "csrf"
SESSION_TTL_S = 12 * 3600  # a session lasts a working day
LINK_TTL_S = 15 * 60  # a link, a quarter of an hour unless minted for longer
LINK_MAX_TTL_S = 7 * 24 * 3600
LINK_MAX_CHARS = 4000  # a link's token, as the sign-in routes take it
_PURPOSE = b"gateledger sign-in link v1"
_LINK_AUDIENCE = "gateledger-sign-in"


def ddl(names: StoreNames) -> list[str]:
    s, links = names.q(SESSIONS), names.q(LINKS)
    return [
        f"CREATE TABLE IF NOT EXISTS {s} (id_hash bytea PRIMARY KEY, person text NOT NULL, "
        "name text NOT NULL, roles text[] NOT NULL, csrf text NOT NULL, "
        "link_id uuid, created timestamptz NOT NULL DEFAULT now(), "
        "expires timestamptz NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {SESSIONS}_expires ON {s} (expires)",
        f"CREATE TABLE IF NOT EXISTS {links} (id uuid PRIMARY KEY, person text NOT NULL, "
        "used timestamptz NOT NULL DEFAULT now(), expires timestamptz NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {LINKS}_expires ON {links} (expires)",
    ]


async def prepare(store: Store) -> None:
    """Create the tables if missing (as the serving role, which then owns them)."""
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7318262005)")
        for statement in ddl(store.names):
            await conn.execute(statement)


def _key(settings: Settings) -> bytes:
    """The key links and bearer CSRF tokens are signed with: derived from the JWT
    secret, never the secret itself (a link is not an API token)."""
    return hmac.new(settings.jwt_secret.encode(), _PURPOSE, hashlib.sha256).digest()


# --- links -------------------------------------------------------------------------------


def safe_path(to: str) -> str:
    """A path on this server to go to after signing in (never another host)."""
    if not to.startswith("/") or to.startswith("//") or "\\" in to or len(to) > 500:
        raise ValueError(f"--to must be a path on this server such as /inbox, not {to!r}")
    if any(ord(c) < 32 for c in to):
        raise ValueError("--to must not hold control characters")
    return to


def mint_link(
    settings: Settings,
    base_url: str,
    person: str,
    roles: Sequence[str] = (),
    *,
    to: str = "/inbox",
    ttl_s: int = LINK_TTL_S,
    name: str = "",
) -> str:
    """A signed, single-use sign-in URL for ``person`` (``gateledger link``)."""
    require_person(person, "PERSON")
    unknown = [r for r in roles if r not in GLOBAL_ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; roles are {list(GLOBAL_ROLES)}")
    if not 1 <= ttl_s <= LINK_MAX_TTL_S:
        raise ValueError(f"a link lives 1 s to {LINK_MAX_TTL_S} s (7 days), not {ttl_s}")
    base = urlsplit(base_url)
    if (
        base.scheme not in ("http", "https")
        or not base.hostname
        or base.username is not None
        or base.query
        or base.fragment
        or any(c <= " " for c in base_url)
    ):
        raise ValueError(
            f"--base-url must be the server's http(s) address such as "
            f"https://gateledger.example.com, not {base_url[:100]!r}"
        )
    if name:
        require_label(name, "--name", MAX_NAME)
    now = int(time.time())
    claims = {
        "sub": person,
        "name": name or person,
        "roles": list(roles),
        "to": safe_path(to),
        "jti": str(uuid.uuid4()),
        "aud": _LINK_AUDIENCE,
        "iat": now,
        "exp": now + ttl_s,
    }
    token = jwt.encode(claims, _key(settings), algorithm="HS256")
    if len(token) > LINK_MAX_CHARS:  # the server would refuse it: say so now
        raise ValueError(f"the link would be too long ({len(token)} characters): shorten --to")
    return f"{base_url.rstrip('/')}/sign-in/link?token={token}"


@dataclass(frozen=True)
class Link:
    """What a valid link says."""

    id: uuid.UUID
    principal: Principal
    to: str
    expires: datetime


class LinkRefused(Exception):
    """A link that cannot sign anyone in, and why (said on the page)."""


def read_link(settings: Settings, token: str) -> Link:
    """The link's claims, checked (signature, expiry, shape); LinkRefused otherwise."""
    try:
        claims = jwt.decode(
            token,
            _key(settings),
            algorithms=["HS256"],
            audience=_LINK_AUDIENCE,
            options={"require": ["sub", "exp", "jti", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise LinkRefused("this sign-in link has expired") from None
    except jwt.PyJWTError:
        raise LinkRefused("this is not a valid sign-in link (it may be cut short)") from None
    try:
        person = require_person(claims.get("sub"), "sub")
        link_id = uuid.UUID(str(claims["jti"]))
        to = safe_path(str(claims.get("to", "/inbox")))
    except (InvalidValue, ValueError):
        raise LinkRefused("this is not a valid sign-in link") from None
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(r in GLOBAL_ROLES for r in roles):
        raise LinkRefused("this is not a valid sign-in link (unknown roles)")
    principal = Principal(sub=person, name=str(claims.get("name") or person), roles=tuple(roles))
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    return Link(link_id, principal, to, expires)


async def link_used(store: Store, link: Link) -> bool:
    async with store.pool.acquire() as conn:
        found = await conn.fetchval(
            f"SELECT true FROM {store.names.q(LINKS)} WHERE id = $1", link.id
        )
    return bool(found)


async def sign_in(store: Store, link: Link) -> str:
    """Spend the link and start a session; the session's cookie value. LinkRefused if
    the link was used already (by anyone, at any time before it expired)."""
    if link.expires <= datetime.now(UTC):
        raise LinkRefused("this sign-in link has expired")
    value = secrets.token_urlsafe(32)
    p = link.principal
    s, links = store.names.q(SESSIONS), store.names.q(LINKS)
    async with store.pool.acquire() as conn, conn.transaction():
        spent = await conn.fetchval(
            f"INSERT INTO {links} (id, person, expires) VALUES ($1, $2, $3) "
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            link.id,
            p.sub,
            link.expires,
        )
        if spent is None:
            raise LinkRefused("this sign-in link was used already: each link signs in once")
        await conn.execute(
            f"INSERT INTO {s} (id_hash, person, name, roles, csrf, link_id, expires) "
            "VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::float8))",
            _digest(value),
            p.sub,
            p.name,
            list(p.roles),
            secrets.token_urlsafe(32),
            link.id,
            SESSION_TTL_S,
        )
        # expired rows say no more than missing ones
        await conn.execute(f"DELETE FROM {s} WHERE expires < now() - interval '1 day'")
        await conn.execute(f"DELETE FROM {links} WHERE expires < now() - interval '1 day'")
    return value


async def sign_out(store: Store, value: str) -> None:
    async with store.pool.acquire() as conn:
        await conn.execute(
            f"DELETE FROM {store.names.q(SESSIONS)} WHERE id_hash = $1", _digest(value)
        )


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


# --- who is asking, on a page --------------------------------------------------------------


@dataclass(frozen=True)
class PageSession:
    """How the caller of a page is signed in: their session (cookie) or a bearer token."""

    principal: Principal
    csrf: str
    cookie: str | None  # the session's cookie value; None when signed in by bearer token


async def session_of(connection: ASGIConnection) -> PageSession | None:
    """The caller's session from the cookie, or None (no cookie, ended or expired)."""
    value = connection.cookies.get(COOKIE)
    if not value or len(value) > 100:
        return None
    store: Store = connection.app.state.store
    async with store.pool.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT person, name, roles, csrf FROM {store.names.q(SESSIONS)} "
            "WHERE id_hash = $1 AND expires > now()",
            _digest(value),
        )
    if row is None:
        return None
    principal = Principal(sub=row["person"], name=row["name"], roles=tuple(row["roles"]))
    return PageSession(principal, row["csrf"], value)


def bearer_csrf(settings: Settings, person: str) -> str:
    """The CSRF token of a page reached with a bearer token (no session to hold one)."""
    return hmac.new(_key(settings), f"csrf:{person}".encode(), hashlib.sha256).hexdigest()


async def page_principal(connection: ASGIConnection) -> Principal:
    """The access guard's authentication for a page: a bearer token if one is sent
    (as the API), else the session cookie; 401 if neither. A POST must carry the
    session's CSRF token in its form (403 otherwise, before anything is read or written)."""
    if connection.headers.get("authorization"):
        principal = principal_of(connection)
        session = PageSession(
            principal, bearer_csrf(connection.app.state.settings, principal.sub), None
        )
    else:
        found = await session_of(connection)
        if found is None:
            raise NotAuthorizedException("sign in to see this page")
        session = found
        connection.state.principal = session.principal
    connection.state.page_session = session
    if connection.scope.get("method") == "POST":
        await check_csrf(connection, session)  # type: ignore[arg-type]
    return session.principal


async def check_csrf(request: Request, session: PageSession) -> None:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise ProblemError(
            403,
            "this form was refused: it did not carry this session's anti-forgery token "
            "(it may come from another site, or from a page opened before you signed in "
            "again). Nothing was changed; reload the page and send the form again.",
            slug="csrf",
        )


def page_session_of(connection: ASGIConnection) -> PageSession | None:
    """The session the guard found for this request (None on public pages)."""
    found = getattr(connection.state, "page_session", None)
    return found if isinstance(found, PageSession) else None


def session_expiry() -> timedelta:
    return timedelta(seconds=SESSION_TTL_S)
