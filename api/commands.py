"""What every command handler shares: options from headers, the actor, the answer."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from litestar import Request, Response

from api.auth import Principal
from api.errors import ProblemError
from api.schemas import CommandAnswer
from domain.policy import Actor
from workflows.uow import CommandOptions, CommandResult

_ETAG = re.compile(r'^\s*(W/)?"?(\d{1,18})"?\s*$')
MAX_KEY = 200


async def command_options(request: Request, principal: Principal) -> CommandOptions:
    """If-Match, Idempotency-Key and the request hash the key is bound to."""
    if_match = request.headers.get("if-match")
    expected = None
    if if_match is not None and if_match.strip() != "*":
        found = _ETAG.match(if_match)
        if not found:
            raise ProblemError(400, 'If-Match must be a version as sent in ETag, e.g. "3"')
        if found.group(1):  # RFC 9110: If-Match compares strongly, a weak tag never matches
            detail = 'If-Match takes a strong ETag: a weak one (W/"3") never matches; send "3"'
            raise ProblemError(412, detail, slug="precondition-failed")
        expected = int(found.group(2))
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= MAX_KEY):
        raise ProblemError(400, f"Idempotency-Key must be 1 to {MAX_KEY} characters")
    body = await request.body()
    digest = hashlib.sha256(
        f"{request.method} {request.url.path}?{request.url.query}\n".encode() + body
    ).hexdigest()
    return CommandOptions(
        principal=principal.sub, expected_version=expected, idempotency_key=key, request_hash=digest
    )


@dataclass(frozen=True)
class Command:
    """What a command handler takes from its request: the caller and the options."""

    principal: Principal
    options: CommandOptions
    correlation_id: str

    def by(self, on_behalf_of: str | None = None) -> Actor:
        """The actor: the caller, for ``on_behalf_of`` when given (the workflows check,
        at the moment of use, that an active delegation backs it)."""
        if on_behalf_of == self.principal.sub:
            on_behalf_of = None
        return Actor(self.principal.sub, on_behalf_of, self.correlation_id)


async def provide_command(request: Request, principal: Principal) -> Command:
    """Dependency of every command handler."""
    correlation = request.headers.get("x-request-id") or str(uuid.uuid4())
    options = await command_options(request, principal)
    return Command(principal, options, correlation[:100])


def answer(result: CommandResult, status: int = 200) -> Response[CommandAnswer]:
    """The command's answer with its ETag."""
    body = CommandAnswer(result.id, result.version, result.position, result.details)
    return Response(body, status_code=status, headers={"ETag": f'"{result.version}"'})
