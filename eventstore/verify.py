"""Recompute the hash chain and check it against the stored hashes and checkpoints.

The walk reads events and chain hashes in position order, a page at a time (the next
page is fetched while the current one is hashed), and stops at the first problem:

- ``content``: an event does not match its chain hash (changed, or rows reordered);
- ``missing``: no event at a position (deleted), or the chain has no hash there either;
- ``unchained``: an event with no chain hash (inserted around the append path);
- ``checkpoint``: the chain differs from a signed checkpoint (a rewritten chain);
- ``truncated``: a checkpoint attests a position past the end of the log;
- ``signature``: a checkpoint is not signed by the checkpoint key.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from eventstore.chain import GENESIS, chain_hashes
from eventstore.checkpoints import Checkpoint, list_checkpoints, log_id, rfc3339, signature_ok
from eventstore.schema import StoreNames

PAGE = 10_000
_PACK_Q, _PACK_I = struct.Struct(">q").pack, struct.Struct(">i").pack
Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    intact: bool
    log_id: str
    from_position: int
    checked: int = 0
    head_position: int = 0
    head_hash: str = GENESIS.hex()
    first_bad_position: int | None = None
    problem: str | None = None
    detail: str | None = None
    checkpoints_checked: int = 0
    last_good_checkpoint: int | None = None
    late: list[tuple[int, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "intact" if self.intact else "broken",
            "log_id": self.log_id,
            "from_position": self.from_position,
            "checked": self.checked,
            "head_position": self.head_position,
            "head_hash": self.head_hash,
            "first_bad_position": self.first_bad_position,
            "problem": self.problem,
            "detail": self.detail,
            "checkpoints_checked": self.checkpoints_checked,
            "last_good_checkpoint": self.last_good_checkpoint,
            "chained_late": [{"from": a, "to": b} for a, b in self.late],
        }


class _Broken(Exception):
    def __init__(self, position: int, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.position, self.problem, self.detail = position, problem, detail


@dataclass
class _Walk:
    """The walk's state: the running hash, and the checkpoints still ahead."""

    position: int
    prev: bytes
    ahead: dict[int, list[Checkpoint]]
    report: VerifyReport
    public_key: Ed25519PublicKey | None

    def check_signature(self, cp: Checkpoint) -> None:
        """A checkpoint counts only if the log's key signed it (when a key is given)."""
        if self.public_key is not None and not signature_ok(
            self.public_key, self.report.log_id, cp
        ):
            raise _Broken(
                cp.position,
                "signature",
                f"the checkpoint at position {cp.position} is not signed by this log's "
                "checkpoint key",
            )

    def check_checkpoints(self, position: int, chain_hash: bytes) -> None:
        # before any at this position counts as good: one that matches must not hide
        # another (say, one kept outside) that does not
        since = self.report.last_good_checkpoint or self.report.from_position
        for cp in self.ahead.pop(position, ()):
            self.check_signature(cp)
            if cp.hash != chain_hash:
                raise _Broken(
                    since + 1,
                    "checkpoint",
                    f"the chain at position {position} differs from the checkpoint signed "
                    f"at {rfc3339(cp.signed_at)}: the log was rewritten after position "
                    f"{since} and at or before {position}",
                )
            self.report.checkpoints_checked += 1
            self.report.last_good_checkpoint = position

    def walk_page(self, entries: Page) -> None:
        """Check each position of a page: it is the next one, its event and chain hash
        are there, and the hash covers the event and the previous hash (the digests of
        ``eventstore.chain``, inlined for speed); checkpoints are checked on the way."""
        sha, pack_q, pack_i = hashlib.sha256, _PACK_Q, _PACK_I
        prev, expected, ahead = self.prev, self.position + 1, self.ahead
        try:
            for p, r, stored in entries:
                if p != expected or r is None or stored is None:
                    self._advance(prev, expected - 1)
                    raise self._gap(p, r)
                topic = r[3].encode() if r[3] else b""
                state = r[4] or b""
                leaf = sha(
                    r[1].bytes + pack_q(r[2]) + pack_i(len(topic)) + topic
                    + pack_i(len(state)) + state
                ).digest()  # fmt: skip
                h = sha(prev + pack_q(p) + leaf).digest()
                if h != stored:
                    raise _Broken(
                        p, "content", f"the event at position {p} does not match its chain hash"
                    )
                prev, expected = h, p + 1
                if p in ahead:
                    self._advance(prev, p)
                    self.check_checkpoints(p, prev)
        finally:
            self._advance(prev, expected - 1)

    def _advance(self, prev: bytes, position: int) -> None:
        self.report.checked += position - self.position
        self.prev, self.position = prev, position

    def _gap(self, p: int, r: asyncpg.Record | None) -> _Broken:
        """What is wrong at position ``p`` (with its event ``r``, None: no row) when it is
        not the next one, or lacks its event or its chain hash."""
        expected = self.position + 1
        if p != expected:
            return _Broken(
                expected, "missing", f"no event and no chain hash at position {expected}"
            )
        if r is None:
            return _Broken(p, "missing", f"the event at position {p} is gone (its hash remains)")
        return _Broken(p, "unchained", f"the event at position {p} has no chain hash")


async def verify_chain(
    pool: asyncpg.Pool,
    names: StoreNames,
    *,
    public_key: Ed25519PublicKey | None = None,
    outside: Sequence[Checkpoint] = (),
    start: Checkpoint | None = None,
    progress: Progress | None = None,
    page: int = PAGE,
) -> VerifyReport:
    """Walk the chain from position 0 (or from a checkpoint); checkpoints stored in the
    database and ``outside`` ones (read from a file the caller trusts) are checked on
    the way. Signatures are checked when a public key is given."""
    lid = await log_id(pool, names)
    checkpoints = [*await list_checkpoints(pool, names), *outside]
    begin = 0 if start is None else start.position
    report = VerifyReport(intact=True, log_id=lid, from_position=begin)
    ahead: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        if cp.position > begin:
            ahead.setdefault(cp.position, []).append(cp)
    walk = _Walk(begin, GENESIS if start is None else start.hash, ahead, report, public_key)
    try:
        below = await pool.fetchval(
            f"SELECT min(notification_id) FROM {names.q(names.events)} WHERE notification_id < 1"
        )
        if below is not None:
            raise _Broken(
                below,
                "unchained",
                f"an event at position {below}, below the first position (1): outside the chain",
            )
        if start is not None:
            await _check_start(pool, names, walk, start)
        await _walk(pool, names, walk, page, progress)
        for cp in sorted((c for cps in ahead.values() for c in cps), key=lambda c: c.position):
            walk.check_signature(cp)  # an unsigned claim past the end proves nothing
        if ahead:
            last = max(ahead)
            raise _Broken(
                walk.position + 1,
                "truncated",
                f"the log ends at position {walk.position} but a signed checkpoint attests "
                f"position {last}: events after {walk.position} were removed",
            )
    except _Broken as broken:
        report.intact = False
        report.first_bad_position = broken.position
        report.problem, report.detail = broken.problem, broken.detail
    report.head_position, report.head_hash = walk.position, walk.prev.hex()
    report.late = [
        (r[0], r[1])
        for r in await pool.fetch(
            f"SELECT first_position, position FROM {names.q('gl_chain')} WHERE late "
            "ORDER BY position"
        )
    ]
    return report


async def _check_start(
    pool: asyncpg.Pool, names: StoreNames, walk: _Walk, start: Checkpoint
) -> None:
    walk.check_signature(start)
    stored = await chain_hashes(pool, names, start.position - 1, start.position)
    if stored.get(start.position) != start.hash:
        raise _Broken(
            start.position,
            "checkpoint",
            f"the chain at position {start.position} differs from the checkpoint "
            "verification starts from",
        )


Page = list[tuple[int, asyncpg.Record | None, bytes | None]]


async def read_page(
    conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames, lo: int, hi: int
) -> Page:
    """Positions ``(lo, hi]`` in order, each with its event row (position, originator
    id, version, topic, state) and its stored chain hash, either None where missing."""
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {names.q(names.events)} WHERE notification_id > $1 AND notification_id <= $2 "
        "ORDER BY notification_id",
        lo,
        hi,
    )
    hashes = await chain_hashes(conn, names, lo, hi)
    if len(hashes) == len(rows) and all(r[0] in hashes for r in rows):
        return [(r[0], r, hashes[r[0]]) for r in rows]  # the usual case: all present
    events = {r[0]: r for r in rows}
    return [(p, events.get(p), hashes.get(p)) for p in sorted(events.keys() | hashes.keys())]


async def log_end(conn: asyncpg.Connection | asyncpg.Pool, names: StoreNames) -> int:
    """The last position that has an event or a chain hash (0: none)."""
    end: int = await conn.fetchval(
        f"SELECT greatest((SELECT max(notification_id) FROM {names.q(names.events)}), "
        f"(SELECT max(position) FROM {names.q('gl_chain')}), 0)"
    )
    return end


async def _walk(
    pool: asyncpg.Pool, names: StoreNames, walk: _Walk, page: int, progress: Progress | None
) -> None:
    end = await log_end(pool, names)

    def fetch(lo: int) -> asyncio.Future[Page] | None:
        # Pages stop at the end read now: an append that commits meanwhile is left out,
        # so its events never show as missing beside hashes read a moment later.
        if lo >= end:
            return None
        return asyncio.ensure_future(read_page(pool, names, lo, min(lo + page, end)))

    lo = walk.position
    pending = fetch(lo)
    while pending is not None:
        entries = await pending
        lo += page
        pending = fetch(lo)
        try:
            walk.walk_page(entries)
        except _Broken:
            if pending is not None:
                pending.cancel()
            raise
        if progress is not None:
            progress(min(lo, end), end)
