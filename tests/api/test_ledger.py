"""Tamper evidence over HTTP: verify, checkpoints, the public key and the ledger export."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.persistence import StoredEvent
from litestar.testing import AsyncTestClient

from api.settings import Settings
from eventstore.checkpoints import list_checkpoints, load_or_create_key, message
from eventstore.database import Store
from tests.api.scenario import Api
from tests.eventstore.test_tamper import ROOT
from workflows.checkpoints import checkpoint_if_due, keep_checkpoints


async def a_project(client: AsyncTestClient[Any], settings: Settings) -> Api:
    api = Api(client, settings)
    project = await api.project()
    await api.review(project)
    return api


async def test_the_public_key_is_published_without_a_token_and_is_the_data_folders_key(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    r = await client.get("/audit/public-key")
    assert r.status_code == 200, r.text
    key = load_or_create_key(settings.checkpoint_key_path)
    assert r.json()["public_key"] == key.public_raw.hex()
    assert r.json()["key_id"] == key.key_id and r.json()["algorithm"] == "Ed25519"


async def test_a_checkpoint_taken_on_demand_is_listed_and_signed_by_the_published_key(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    api = await a_project(client, settings)
    r = await api.post("/audit/checkpoints", "ann", {}, "auditor")
    assert r.status_code == 201, r.text
    taken = r.json()
    assert taken["position"] == api.last_position
    listed = (await api.get("/audit/checkpoints")).json()
    assert listed["checkpoints"] == [taken]
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(listed["public_key"]["public_key"]))
    signed = message(
        listed["log_id"],
        taken["position"],
        bytes.fromhex(taken["hash"]),
        datetime.fromisoformat(taken["signed_at"].replace("Z", "+00:00")),
    )
    public.verify(bytes.fromhex(taken["signature"]), signed)  # raises if not


async def test_verify_reports_intact_then_the_first_changed_event(
    client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    api = await a_project(client, settings)
    r = await api.get("/audit/verify")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "intact" and r.json()["checked"] == api.last_position
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            f"UPDATE \"{settings.schema}\".stored_events SET state = state || '\\x20'::bytea "
            "WHERE notification_id = 2"
        )
    finally:
        await conn.close()
    broken = (await api.get("/audit/verify")).json()
    assert (broken["status"], broken["first_bad_position"], broken["problem"]) == (
        "broken",
        2,
        "content",
    )


async def test_verify_and_checkpoints_are_for_auditors_and_start_is_checked(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    api = await a_project(client, settings)
    assert (await client.get("/audit/verify", headers=api.auth("paula"))).status_code == 403
    assert (await api.post("/audit/checkpoints", "paula", {})).status_code == 403
    bad = await api.get("/audit/verify?start=12x")
    assert bad.status_code == 422 and "start must be" in bad.json()["detail"]
    await api.post("/audit/checkpoints", "ann", {}, "auditor")
    late = (await api.get("/audit/verify?start=latest")).json()
    assert late["status"] == "intact" and late["from_position"] == api.last_position
    assert late["checked"] == 0


async def test_the_ledger_export_verifies_with_the_standalone_verifier(
    client: AsyncTestClient[Any], settings: Settings, tmp_path: Path
) -> None:
    api = await a_project(client, settings)
    await api.post("/audit/checkpoints", "ann", {}, "auditor")
    r = await api.get("/audit/export?format=ledger")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = r.text.splitlines()
    assert [json.loads(x)["position"] for x in lines] == list(range(1, api.last_position + 1))
    (tmp_path / "ledger.ndjson").write_text(r.text)
    checkpoints = (await api.get("/audit/checkpoints")).json()
    (tmp_path / "cp.json").write_text(json.dumps(checkpoints))
    done = await asyncio.create_subprocess_exec(
        *[sys.executable, "-I", str(ROOT / "tools" / "verify_ledger.py")],
        "--export",
        str(tmp_path / "ledger.ndjson"),
        "--checkpoints",
        str(tmp_path / "cp.json"),
        "--public-key",
        checkpoints["public_key"]["public_key"],
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await done.communicate()
    assert done.returncode == 0, out
    assert json.loads(out.splitlines()[-1])["checkpoints_checked"] == 1
    filtered = await api.get("/audit/export?format=ledger&actor=paula")
    assert filtered.status_code == 422


async def test_a_checkpoint_is_due_every_n_events_or_after_the_interval(
    store: Store, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "k.pem")

    async def due(idle_s: float = 0.0) -> int | None:
        cp = await checkpoint_if_due(store, key, every_events=3, interval_s=60, idle_s=idle_s)
        return None if cp is None else cp.position

    async def append(n: int) -> None:
        await store.events.insert_events(
            [StoredEvent(uuid.uuid4(), 1, "T.E", b"{}") for _ in range(n)]
        )

    assert await due() is None  # an empty log
    await append(2)
    assert await due() is None  # 2 < 3 events since the last one
    assert await due(idle_s=60) == 2  # but the interval passed
    await append(2)
    assert await due() is None
    await append(1)
    assert await due() == 5
    assert await due(idle_s=3600) is None  # nothing new since


async def test_the_checkpoint_job_runs_until_stopped(store: Store, tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    await store.events.insert_events([StoredEvent(uuid.uuid4(), 1, "T.E", b"{}")])
    stop = asyncio.Event()
    job = asyncio.create_task(
        keep_checkpoints(store, key, stop, every_events=1, interval_s=3600, poll_s=0.01)
    )
    try:
        async with asyncio.timeout(10):
            while not await list_checkpoints(store.pool, store.names):  # noqa: ASYNC110 (polls the database)
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await job
    assert [cp.position for cp in await list_checkpoints(store.pool, store.names)] == [1]


async def test_a_read_model_past_the_end_of_the_log_makes_health_degraded(
    client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    api = await a_project(client, settings)
    await api.get(f"/projects?min_position={api.last_position}")
    assert (await client.get("/health")).status_code == 200
    conn = await asyncpg.connect(database_url)
    try:  # a hand edit: the audit trail would skip the next events
        await conn.execute(
            f'UPDATE "{settings.schema}".notification_tracking SET notification_id = $1 '
            "WHERE application_name = 'audit'",
            api.last_position + 5,
        )
    finally:
        await conn.close()
    r = await client.get("/health")
    assert r.status_code == 503
    assert r.json()["ahead_of_log"] == [{"projection": "audit", "position": api.last_position + 5}]


async def test_a_forged_checkpoint_at_the_head_is_409_not_handed_out(
    client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    api = await a_project(client, settings)
    head = (await api.get("/audit/verify")).json()["head_hash"]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            f'INSERT INTO "{settings.schema}".gl_checkpoints VALUES ($1, $2, now(), $3, $4)',
            api.last_position,
            bytes.fromhex(head),
            "forged",
            b"\x00",
        )
    finally:
        await conn.close()
    r = await api.post("/audit/checkpoints", "ann", {}, "auditor")
    assert r.status_code == 409 and "not signed by this server's key" in r.json()["detail"]
