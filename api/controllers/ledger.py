"""Tamper evidence over HTTP: verify the chain, list and sign checkpoints, the public key."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Controller, Request, get, post

from api.auth import Principal, require_role
from api.errors import ProblemError
from api.reads import Cursor, Limit, parse_cursor
from api.responses import problem_response
from eventstore.checkpoints import (
    Checkpoint,
    CheckpointRefused,
    checkpoint_file,
    find_start,
    list_checkpoints,
    log_id,
    take_checkpoint,
)
from eventstore.database import Store
from eventstore.verify import verify_chain


class CheckpointView(msgspec.Struct):
    log_id: str
    position: int
    hash: str
    signed_at: str
    key_id: str
    signature: str


class PublicKeyView(msgspec.Struct):
    algorithm: Literal["Ed25519"]
    key_id: str
    public_key: str  # 32 bytes, hex
    pem: str


class CheckpointFile(msgspec.Struct):
    """What `gateledger checkpoints -o FILE` writes: keep it outside the database."""

    log_id: str
    public_key: PublicKeyView
    checkpoints: list[CheckpointView]
    next: str | None = None  # over HTTP: the cursor of the next page


class LateRange(msgspec.Struct):
    from_: int = msgspec.field(name="from")
    to: int = 0


class VerifyView(msgspec.Struct):
    status: Literal["intact", "broken"]
    log_id: str
    from_position: int
    checked: int
    head_position: int
    head_hash: str
    first_bad_position: int | None
    problem: (
        Literal["content", "missing", "unchained", "checkpoint", "truncated", "signature"] | None
    )
    detail: str | None
    checkpoints_checked: int
    last_good_checkpoint: int | None
    chained_late: list[LateRange]


def public_key_view(request: Request) -> PublicKeyView:
    return msgspec.convert(request.app.state.checkpoint_key.to_json(), PublicKeyView)


def checkpoint_view(cp: Checkpoint, lid: str) -> CheckpointView:
    return msgspec.convert(cp.to_json(lid), CheckpointView)


class LedgerController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/verify", operation_id="verifyChain", summary="Recompute and check the hash chain")
    async def verify(
        self, request: Request, principal: Principal, store: Store, start: str = "0"
    ) -> VerifyView:
        """From position 0, or from a signed checkpoint (`start=latest` or its position)."""
        require_role(principal, "auditor", "pmo_admin")
        try:
            begin = find_start(await list_checkpoints(store.pool, store.names), start)
        except ValueError as exc:
            raise ProblemError(422, str(exc), slug="validation") from None
        key = request.app.state.checkpoint_key
        report = await verify_chain(
            store.pool, store.names, public_key=key.private.public_key(), start=begin
        )
        return msgspec.convert(report.to_json(), VerifyView)

    @get("/checkpoints", operation_id="listCheckpoints", summary="Signed chain heads")
    async def checkpoints(
        self,
        request: Request,
        principal: Principal,
        store: Store,
        after: str = Cursor,
        limit: int = Limit,
    ) -> CheckpointFile:
        """A page of checkpoints, oldest first (`gateledger checkpoints -o` writes all)."""
        require_role(principal, "auditor", "pmo_admin")
        key = request.app.state.checkpoint_key
        found = await checkpoint_file(
            store.pool, store.names, key, after=parse_cursor(after), limit=limit
        )
        return msgspec.convert(found, CheckpointFile)

    @post(
        "/checkpoints",
        operation_id="takeCheckpoint",
        summary="Sign the chain's head now",
        status_code=201,
        responses={
            409: problem_response(
                "the log is empty, or the checkpoint at its head is not signed by this server's "
                "key or its head row is malformed (verify reports which)"
            )
        },
    )
    async def take(self, request: Request, principal: Principal, store: Store) -> CheckpointView:
        require_role(principal, "auditor", "pmo_admin")
        try:
            cp = await take_checkpoint(store.pool, store.names, request.app.state.checkpoint_key)
        except CheckpointRefused as exc:
            raise ProblemError(409, str(exc), slug="checkpoint-forged") from None
        if cp is None:
            raise ProblemError(409, "the log is empty: there is no head to sign", slug="empty-log")
        return checkpoint_view(cp, await log_id(store.pool, store.names))

    @get("/public-key", operation_id="checkpointPublicKey", summary="The checkpoint key")
    async def public_key(self, request: Request) -> PublicKeyView:
        return public_key_view(request)
