"""Signed checkpoints of the chain head (Ed25519).

A checkpoint says "at position N the chain's hash was H", signed with the server's
checkpoint key. Handed to auditors and kept outside the database, it lets them detect a
truncated tail or a rewritten chain, which the chain alone cannot show. The signed
message is plain text (docs/audit.md):

    gateledger-checkpoint/v1\\n<log id>\\n<position>\\n<hash, hex>\\n<signed at, RFC 3339>\\n
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from eventstore.chain import chain_head
from eventstore.files import create_once
from eventstore.schema import StoreNames

KEY_FILE = "checkpoint-ed25519.pem"


@dataclass(frozen=True)
class Checkpoint:
    position: int
    hash: bytes
    signed_at: datetime
    key_id: str
    signature: bytes

    def to_json(self, log_id: str) -> dict[str, Any]:
        """The published form (hex for bytes, RFC 3339 UTC for the time)."""
        return {
            "log_id": log_id,
            "position": self.position,
            "hash": self.hash.hex(),
            "signed_at": rfc3339(self.signed_at),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }


def rfc3339(t: datetime) -> str:
    """UTC, microseconds, a ``Z``: the one spelling the signed message uses."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def message(log_id: str, position: int, chain_hash: bytes, signed_at: datetime) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return (
        f"gateledger-checkpoint/v1\n{log_id}\n{position}\n{chain_hash.hex()}\n"
        f"{rfc3339(signed_at)}\n"
    ).encode()


@dataclass(frozen=True)
class CheckpointKey:
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def to_json(self) -> dict[str, str]:
        """The published form of the public key (``GET /audit/public-key``)."""
        return {
            "algorithm": "Ed25519",
            "key_id": self.key_id,
            "public_key": self.public_raw.hex(),
            "pem": self.public_pem(),
        }

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def key_id(public_raw: bytes) -> str:
    """A short name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


class CheckpointRefused(ValueError):
    """The head cannot be signed: the checkpoint stored there is not signed by this
    server's key (written around the server), or the chain's head row is malformed
    (``verify`` reports either)."""


def load_key(path: Path) -> CheckpointKey:
    """The key in ``path`` (PEM, PKCS#8); ValueError if missing or not an Ed25519 key
    (for commands that check: a new key would fail every stored checkpoint)."""
    if not path.is_file():
        raise ValueError(
            f"no checkpoint key at {path} (the server makes one there on its first start; "
            "GATELEDGER_CHECKPOINT_KEY names another file)"
        )
    return load_or_create_key(path)


def load_or_create_key(path: Path) -> CheckpointKey:
    """The key in ``path`` (PEM, PKCS#8), generated there (mode 0600) if missing."""
    if path.exists():
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} is not an unencrypted PEM private key: {exc}") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path} holds a key that is not Ed25519")
        return CheckpointKey(private)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if not create_once(path, pem):  # another process made it first: use theirs
        return load_or_create_key(path)
    return CheckpointKey(private)


def public_key_from(raw_or_pem: bytes | str) -> Ed25519PublicKey:
    """A public key given as 32 raw bytes, 64 hex digits or PEM."""
    if isinstance(raw_or_pem, str):
        text = raw_or_pem.strip()
        if "BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            return key
        raw_or_pem = bytes.fromhex(text)
    return Ed25519PublicKey.from_public_bytes(raw_or_pem)


def signature_ok(public: Ed25519PublicKey, log_id: str, cp: Checkpoint) -> bool:
    """True if ``cp`` is signed by ``public`` for this log."""
    try:
        public.verify(cp.signature, message(log_id, cp.position, cp.hash, cp.signed_at))
    except InvalidSignature:
        return False
    return True


async def log_id(conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames) -> str:
    """This store's log id (made when the store was created; signed into checkpoints)."""
    return str(await conn.fetchval(f"SELECT log_id FROM {names.q('gl_log')}"))


async def take_checkpoint(
    pool: asyncpg.Pool, names: StoreNames, key: CheckpointKey
) -> Checkpoint | None:
    """Sign the chain's head now (or return the checkpoint already at that head); None
    for an empty log."""
    async with pool.acquire() as conn, conn.transaction():
        head = await chain_head(conn, names)
        if head is None:
            return None
        existing = await _select(conn, names, "WHERE position = $1", head[0])
        if existing:
            return _ours(existing[0], key, await log_id(conn, names))
        signed_at = datetime.now(UTC)
        lid = await log_id(conn, names)
        cp = Checkpoint(
            position=head[0],
            hash=bytes(head[1]),
            signed_at=signed_at,
            key_id=key.key_id,
            signature=key.private.sign(message(lid, head[0], bytes(head[1]), signed_at)),
        )
        try:
            inserted = await conn.fetchval(
                f"INSERT INTO {names.q('gl_checkpoints')} "
                "(position, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT DO NOTHING RETURNING position",
                cp.position,
                cp.hash,
                cp.signed_at,
                cp.key_id,
                cp.signature,
            )
        except asyncpg.CheckViolationError as exc:
            raise CheckpointRefused(
                f"cannot sign position {cp.position}: {exc} (the chain's head row is "
                "malformed; gateledger verify says where)"
            ) from None
        if inserted is None:  # another process signed the same head meanwhile
            return _ours((await _select(conn, names, "WHERE position = $1", head[0]))[0], key, lid)
        return cp


def _ours(cp: Checkpoint, key: CheckpointKey, lid: str) -> Checkpoint:
    if not signature_ok(key.private.public_key(), lid, cp):
        raise CheckpointRefused(
            f"the checkpoint stored at position {cp.position} is not signed by this server's "
            "key: it was written around the server (gateledger verify reports it)"
        )
    return cp


def find_start(checkpoints: list[Checkpoint], start: str) -> Checkpoint | None:
    """Where a verification starts: ``0`` (None: the whole log), ``latest`` (the newest
    checkpoint, or the whole log if there is none) or a checkpoint's position; ValueError
    for anything else."""
    if start == "0":
        return None
    if start == "latest":
        return checkpoints[-1] if checkpoints else None
    found = [cp for cp in checkpoints if str(cp.position) == start]
    if not found:
        raise ValueError(
            "start must be 0, latest or the position of a checkpoint (gateledger "
            f"checkpoints lists them), not {start[:40]!r}"
        )
    return found[0]


async def list_checkpoints(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames
) -> list[Checkpoint]:
    """Every stored checkpoint, oldest first."""
    return await _select(conn, names, "")


async def checkpoint_file(
    conn: asyncpg.Connection | asyncpg.Pool,
    names: StoreNames,
    key: CheckpointKey,
    *,
    after: int = 0,
    limit: int | None = None,
) -> dict[str, Any]:
    """What auditors keep outside the database: the log id, the public key and every
    checkpoint (``gateledger checkpoints -o``), or a page of them, those past position
    ``after`` (``GET /audit/checkpoints``; ``next``: the cursor of the page after)."""
    lid = await log_id(conn, names)
    if limit is None:
        found, more = await list_checkpoints(conn, names), False
    else:
        page = await _select(conn, names, "WHERE position > $1", after, limit + 1, tail="LIMIT $2")
        found, more = page[:limit], len(page) > limit
    return {
        "log_id": lid,
        "public_key": key.to_json(),
        "checkpoints": [cp.to_json(lid) for cp in found],
        "next": str(found[-1].position) if more else None,
    }


async def latest_position(conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames) -> int:
    """The position of the newest checkpoint (0: none yet)."""
    position: int = await conn.fetchval(
        f"SELECT coalesce(max(position), 0) FROM {names.q('gl_checkpoints')}"
    )
    return position


async def _select(
    conn: asyncpg.Connection | asyncpg.Pool,
    names: StoreNames,
    where: str,
    *args: object,
    tail: str = "",
) -> list[Checkpoint]:
    rows = await conn.fetch(
        # A time outside what Python holds (a row written around the trigger) reads as
        # 1970: its signature then fails, and it is reported, not a crash.
        "SELECT position, hash, CASE WHEN signed_at BETWEEN '1970-01-01' AND '2999-12-31' "
        "THEN signed_at ELSE '1970-01-01 00:00+00' END, key_id, signature FROM "
        f"{names.q('gl_checkpoints')} {where} ORDER BY position {tail}",
        *args,
    )
    return [Checkpoint(r[0], bytes(r[1]), r[2], r[3], bytes(r[4])) for r in rows]


def checkpoint_from_json(data: dict[str, Any]) -> tuple[str, Checkpoint]:
    """``(log id, checkpoint)`` from the published form; ValueError if malformed."""
    if not isinstance(data, dict) or type(data.get("position")) is not int:
        raise ValueError("not a checkpoint: it needs a whole-number position")
    if data["position"] < 1:
        raise ValueError(f"not a checkpoint: position {data['position']} is below 1")
    if not isinstance(data.get("hash"), str) or not _HEX64.fullmatch(data["hash"]):
        raise ValueError("not a checkpoint: hash must be 64 lower-case hex digits")
    try:
        signed_at = datetime.fromisoformat(str(data["signed_at"]).replace("Z", "+00:00"))
        return str(data["log_id"]), Checkpoint(
            position=data["position"],
            hash=bytes.fromhex(data["hash"]),
            signed_at=signed_at.astimezone(UTC),
            key_id=str(data["key_id"]),
            signature=bytes.fromhex(data["signature"]),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"not a checkpoint: {exc}") from None


_HEX64 = re.compile(r"[0-9a-f]{64}")
