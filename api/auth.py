"""Bearer JWT authentication: HS256 with the configured secret, or RS256 with a public key."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence

import jwt
import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from api.settings import Settings
from domain.checks import require_person
from domain.errors import InvalidValue

GLOBAL_ROLES = ("pmo_admin", "auditor")
LEEWAY_S = 5  # clock skew allowed on exp
VERIFIED_TOKENS = 10_000  # tokens an app remembers as verified, until they expire


class Principal(msgspec.Struct, frozen=True):
    """The authenticated caller, from the token's claims."""

    sub: str
    name: str = ""
    roles: tuple[str, ...] = ()

    def has(self, role: str) -> bool:
        return role in self.roles


def mint_token(
    settings: Settings, person: str, roles: Sequence[str] = (), name: str = "", ttl: int = 0
) -> str:
    """A signed HS256 token for local use (``gateledger token``); it carries the
    configured audience and issuer, so a server that requires them accepts it."""
    unknown = [r for r in roles if r not in GLOBAL_ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; token roles are {list(GLOBAL_ROLES)}")
    now = int(time.time())
    claims = {
        "sub": person,
        "name": name or person,
        "roles": list(roles),
        "iat": now,
        "exp": now + (ttl or settings.token_ttl_seconds),
    }
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def decode_token(settings: Settings, token: str) -> Principal:
    """Verify signature and expiry; raise 401 with a clear reason otherwise."""
    return _verify(settings, token)[0]


class VerifiedTokens:
    """Tokens already verified, with whom they name, until they expire: a client sends
    the same token with every request, and verifying it (a signature, JSON, the claims'
    checks) costs more than the rest of a small command's handling. Bounded: the least
    recently used go first. A token is remembered only once it verified; everything the
    verification checks stays true until ``exp`` (the lifetime bound only loosens)."""

    def __init__(self, size: int = VERIFIED_TOKENS) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def principal(self, settings: Settings, token: str) -> Principal:
        """Who ``token`` names, verified now or earlier and not yet expired."""
        found = self._entries.get(token)
        if found is not None and time.time() <= found[1]:
            self._entries.move_to_end(token)
            return found[0]
        principal, exp = _verify(settings, token)
        self._entries[token] = (principal, exp + LEEWAY_S)
        self._entries.move_to_end(token)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return principal


def _verify(settings: Settings, token: str) -> tuple[Principal, float]:
    """The principal a token names and its ``exp``, or 401."""
    try:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg == "RS256" and settings.jwt_public_key:
            key = settings.jwt_public_key
        elif alg == "HS256":
            key = settings.jwt_secret
        else:
            raise NotAuthorizedException(f"tokens signed with {alg!r} are not accepted")
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp"], "verify_aud": settings.jwt_audience is not None},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthorizedException("the token has expired") from None
    except jwt.PyJWTError as exc:  # invalid token, or a key that cannot verify it
        raise NotAuthorizedException(f"invalid token: {exc}") from None
    exp = claims["exp"]
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise NotAuthorizedException("invalid token: 'exp' must be a number (seconds since 1970)")
    if exp - time.time() > settings.token_max_ttl_s + 5:
        raise NotAuthorizedException(
            "invalid token: it is valid for longer than this server accepts "
            f"(at most {settings.token_max_ttl_s} s from now; GATELEDGER_TOKEN_MAX_TTL)"
        )
    roles = claims.get("roles", [])
    try:  # the person ids the domain accepts, and no others
        sub = require_person(claims.get("sub"), "sub")
    except InvalidValue as exc:
        raise NotAuthorizedException(f"invalid token: 'sub' is not a person id ({exc})") from None
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise NotAuthorizedException("invalid token: 'roles' must be a list of strings")
    return Principal(sub=sub, name=str(claims.get("name", "")), roles=tuple(roles)), float(exp)


def principal_of(connection: ASGIConnection) -> Principal:
    """The caller, from ``Authorization: Bearer <JWT>`` (decoded once per request)."""
    found = getattr(connection.state, "principal", None)
    if isinstance(found, Principal):
        return found
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("missing bearer token: send 'Authorization: Bearer <JWT>'")
    state = connection.app.state
    tokens = getattr(state, "verified_tokens", None)
    if tokens is None:
        tokens = state.verified_tokens = VerifiedTokens()
    principal = tokens.principal(state.settings, token.strip())
    connection.state.principal = principal
    return principal


async def provide_principal(request: Request) -> Principal:
    """Dependency: the caller (the access guard has already authenticated them)."""
    return principal_of(request)


def require_role(principal: Principal, *roles: str) -> None:
    """403 unless the caller holds one of the global roles."""
    if not any(principal.has(r) for r in roles):
        raise PermissionDeniedException(f"this needs the role {' or '.join(roles)}")
