"""Idempotency records, written in the same transaction as the command's events."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from eventstore.schema import StoreNames


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first answer given for a (principal, key) pair and the request it answered.

    ``position``: where the command's events landed, when the group commit stored the
    record with them (the answer it holds says 0 there); None when the answer holds it."""

    request_hash: str
    response: bytes
    position: int | None = None


class IdempotencyRace(Exception):
    """Another transaction stored the same key first; its answer stands."""


class IdempotencyStore:
    """Reads and writes the ``gl_idempotency`` table."""

    def __init__(self, pool: asyncpg.Pool, names: StoreNames) -> None:
        self.pool = pool
        table = names.q("gl_idempotency")
        self._find = (
            f"SELECT request_hash, response, position FROM {table} "
            "WHERE principal = $1 AND key = $2"
        )
        self._insert = (
            f"INSERT INTO {table} (principal, key, request_hash, response) VALUES ($1, $2, $3, $4)"
        )

    async def find(self, principal: str, key: str) -> IdempotencyRecord | None:
        """The stored answer for this key, if any."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(self._find, principal, key)
        return None if row is None else IdempotencyRecord(row[0], bytes(row[1]), row[2])

    async def insert(
        self, conn: asyncpg.Connection, principal: str, key: str, record: IdempotencyRecord
    ) -> None:
        """Store the answer inside the caller's transaction."""
        try:
            await conn.execute(self._insert, principal, key, record.request_hash, record.response)
        except asyncpg.UniqueViolationError as exc:
            raise IdempotencyRace(key) from exc
