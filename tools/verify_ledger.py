#!/usr/bin/env python3
"""Verify a Gateledger ledger export against signed checkpoints, trusting nothing of
Gateledger: this file imports only the standard library and ``cryptography`` (Ed25519).

    python verify_ledger.py --export ledger.ndjson --checkpoints checkpoints.json \\
        --public-key checkpoint-public.pem

The algorithm is the one docs/audit.md specifies. Exit 0: intact; 1: broken (the first
bad position and what is wrong there are printed); 2: the inputs could not be read.
The last line printed is a JSON object of the result.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import struct
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key


class Broken(Exception):
    def __init__(self, position: int, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.position, self.problem, self.detail = position, problem, detail


def leaf(originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    t = topic.encode("utf-8")
    return hashlib.sha256(
        bytes.fromhex(originator_id.replace("-", ""))
        + struct.pack(">q", version)
        + struct.pack(">i", len(t))
        + t
        + struct.pack(">i", len(state))
        + state
    ).digest()


def signed_message(cp: dict) -> bytes:
    at = datetime.fromisoformat(cp["signed_at"].replace("Z", "+00:00")).astimezone(UTC)
    return (
        f"gateledger-checkpoint/v1\n{cp['log_id']}\n{cp['position']}\n{cp['hash']}\n"
        f"{at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\n"
    ).encode()


def load_public_key(text: str) -> Ed25519PublicKey:
    text = text.strip()
    if "BEGIN" in text:
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))


FIELDS = {"log_id": str, "position": int, "hash": str, "signed_at": str, "signature": str}
HEX64 = re.compile(r"[0-9a-f]{64}")


def load_checkpoints(data: object) -> list[dict]:
    """The checkpoints of a file as `gateledger checkpoints -o` writes it (or one
    checkpoint, or a list); ValueError if it holds none or a malformed one."""
    if isinstance(data, dict) and "checkpoints" in data:
        data = data["checkpoints"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValueError("the checkpoint file holds no checkpoint")
    checkpoints: list[dict] = []
    for n, cp in enumerate(items, start=1):
        if not isinstance(cp, dict):
            raise ValueError(f"checkpoint {n} is not an object")
        checkpoints.append(cp)
        for name, kind in FIELDS.items():
            if type(cp.get(name)) is not kind:
                raise ValueError(f"checkpoint {n}: {name} must be a {kind.__name__}")
        if cp["position"] < 1:
            raise ValueError(f"checkpoint {n}: position must be 1 or more")
        if not HEX64.fullmatch(cp["hash"]):
            raise ValueError(f"checkpoint {n}: hash must be 64 lower-case hex digits")
    if len({cp["log_id"] for cp in checkpoints}) != 1:
        raise ValueError("the checkpoint file mixes checkpoints of several logs")
    return checkpoints


def check_row(n: int, row: object) -> dict:
    """One export line, its fields of the right types; ValueError otherwise."""
    if not isinstance(row, dict) or type(row.get("position")) is not int:
        raise ValueError(f"line {n}: not a ledger line with a whole-number position")
    present = row.get("originator_id") is not None
    kinds = {"originator_id": str, "originator_version": int, "hash": str}
    for name, kind in kinds.items():
        value = row.get(name)
        if value is not None and type(value) is not kind:
            raise ValueError(f"line {n}: {name} must be a {kind.__name__}")
    if present and type(row.get("originator_version")) is not int:
        raise ValueError(f"line {n}: originator_version must be a whole number")
    if present and not -(2**63) <= row["originator_version"] < 2**63:
        raise ValueError(f"line {n}: originator_version is out of range")
    for name in ("topic", "state"):
        if row.get(name) is not None and not isinstance(row[name], str):
            raise ValueError(f"line {n}: {name} must be a string")
    return row


def verify(lines: Iterable[str], checkpoints: list[dict], key: Ed25519PublicKey) -> dict:
    result: dict[str, Any] = {  # the report, printed as JSON
        "status": "intact",
        "checked": 0,
        "head_position": 0,
        "first_bad_position": None,
        "problem": None,
        "detail": None,
        "checkpoints_checked": 0,
    }
    ahead: dict[int, list[dict]] = {}
    for cp in checkpoints:
        ahead.setdefault(int(cp["position"]), []).append(cp)
    position, prev = 0, bytes(32)
    last_good: int | None = None  # the position of the last checkpoint that matched

    def check_signature(cp: dict) -> None:
        try:
            key.verify(bytes.fromhex(cp["signature"]), signed_message(cp))
        except InvalidSignature:
            raise Broken(
                int(cp["position"]),
                "signature",
                f"the checkpoint at position {cp['position']} is not signed by this key",
            ) from None

    try:
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            row = check_row(n, json.loads(line))
            p, expected = row["position"], position + 1
            if p < 1:
                raise Broken(p, "unchained", f"an event at position {p}, below the first (1)")
            if p != expected:
                raise Broken(expected, "missing", f"no event and no chain hash at {expected}")
            if row["originator_id"] is None:
                raise Broken(p, "missing", f"the event at position {p} is gone")
            if row["hash"] is None:
                raise Broken(p, "unchained", f"the event at position {p} has no chain hash")
            state = base64.b64decode(row["state"] or "")
            h = hashlib.sha256(
                prev
                + struct.pack(">q", p)
                + leaf(row["originator_id"], row["originator_version"], row["topic"] or "", state)
            ).digest()
            if h.hex() != row["hash"]:
                raise Broken(p, "content", f"the event at position {p} does not match its hash")
            prev, position = h, p
            result["checked"] += 1
            for cp in ahead.pop(p, ()):
                check_signature(cp)
                if cp["hash"] != h.hex():
                    since = last_good or 0
                    raise Broken(
                        since + 1,
                        "checkpoint",
                        f"the chain at position {p} differs from the checkpoint: "
                        f"rewritten after position {since} and at or before {p}",
                    )
                result["checkpoints_checked"] += 1
                last_good = p
        for cp in sorted((c for cs in ahead.values() for c in cs), key=lambda c: c["position"]):
            check_signature(cp)  # an unsigned claim past the end proves nothing
        if ahead:
            raise Broken(
                position + 1,
                "truncated",
                f"the log ends at position {position} but a signed checkpoint "
                f"attests position {max(ahead)}",
            )
    except Broken as b:
        result.update(
            status="broken", first_bad_position=b.position, problem=b.problem, detail=b.detail
        )
    result["head_position"] = position
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="ledger export (NDJSON)")
    parser.add_argument("--checkpoints", required=True, help="checkpoint file (JSON)")
    parser.add_argument("--public-key", required=True, help="PEM file, or 64 hex digits")
    args = parser.parse_args(argv)
    try:
        key_text = args.public_key
        if os.path.exists(key_text):
            with open(key_text, encoding="utf-8") as f:
                key_text = f.read()
        key = load_public_key(key_text)
        with open(args.checkpoints, encoding="utf-8") as f:
            checkpoints = load_checkpoints(json.load(f))
        with open(args.export, encoding="utf-8") as lines:
            result = verify(lines, checkpoints, key)
    except (
        OSError,
        ValueError,
        binascii.Error,
        RecursionError,
        OverflowError,
        struct.error,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result["status"] == "intact":
        print(
            f"intact: {result['checked']} events up to position {result['head_position']}, "
            f"{result['checkpoints_checked']} checkpoints"
        )
    else:
        print(f"BROKEN at position {result['first_bad_position']}: {result['detail']}")
    print(json.dumps(result))
    return 0 if result["status"] == "intact" else 1


if __name__ == "__main__":
    sys.exit(main())
