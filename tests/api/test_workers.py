"""``gateledger serve --workers 2``: two server processes accepting on one port take
votes at once; every acknowledged vote is in the log once where its answer says, the
read models catch up (one projector elected), the chain verifies, and SIGTERM to the
parent stops both workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx

from api.auth import mint_token
from api.settings import Settings
from eventstore.checkpoints import load_or_create_key
from eventstore.schema import StoreNames
from eventstore.verify import verify_chain
from tests.api.processes import free_port
from tests.conftest import drop_store_schema
from tests.e2e.server import PORTFOLIO, SECRET, Server

MEMBERS = [f"member{i}" for i in range(6)]


def bearer(person: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(Settings(jwt_secret=SECRET), person, roles)}"}


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def start_workers(database_url: str, schema: str, data_dir: Path, workers: int) -> Server:
    """``gateledger serve --workers N`` on a free port, configured as an operator would."""
    load_or_create_key(Settings(data_dir=data_dir).checkpoint_key_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "GATELEDGER"))}
    env |= {
        "DATABASE_URL": database_url,
        "GATELEDGER_SCHEMA": schema,
        "GATELEDGER_DATA_DIR": str(data_dir),
        "GATELEDGER_JWT_SECRET": SECRET,
        "GATELEDGER_ESCALATION": "off",
    }
    port = free_port()
    log = data_dir / "serve.log"
    gateledger = str(Path(sys.executable).parent / "gateledger")
    command = [gateledger, "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(process, data_dir, port, log)


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


async def test_two_workers_on_one_port_take_votes_once_each_and_stop_together(
    database_url: str, schema_name: str, tmp_path: Path
) -> None:
    server = start_workers(database_url, schema_name, tmp_path, 2)
    process = server.process
    try:
        server.wait_healthy()
        assert len(children_of(process.pid)) == 2, server.output()
        async with httpx.AsyncClient(base_url=server.api, timeout=60) as client:
            body = {**PORTFOLIO, "board": {"members": MEMBERS, "chair": MEMBERS[0]}}
            r = await client.post("/portfolios", json=body, headers=bearer("admin", "pmo_admin"))
            assert r.status_code == 201, r.text
            portfolio = r.json()["id"]
            projects = []
            for i in range(4):
                r = await client.post(
                    "/projects",
                    json={
                        "portfolio_id": portfolio,
                        "name": f"P{i}",
                        "pm": "paula",
                        "sponsor": "sam",
                        "baseline": {
                            "budget": {"amount": "1000.00", "currency": "EUR"},
                            "start": "2027-01-01",
                            "end": "2027-12-31",
                            "scope": "s",
                        },
                        "tolerances": {"cost_pct": "10", "schedule_days": 30},
                    },
                    headers=bearer("admin", "pmo_admin"),
                )
                assert r.status_code == 201, r.text
                project = r.json()["id"]
                review = {"evidence": [{"title": "Mandate", "content_hash": "sha256:abc"}]}
                r = await client.post(
                    f"/projects/{project}/gates/G0/review", json=review, headers=bearer("paula")
                )
                assert r.status_code == 200, r.text
                projects.append(project)

            async def votes(project: str, who: str) -> list[dict[str, object]]:
                acked = []
                for n in range(6):
                    while True:
                        r = await client.post(
                            f"/projects/{project}/gates/G0/votes",
                            json={"vote": ("approve", "reject")[n % 2], "rationale": f"{n}"},
                            headers={**bearer(who), "Idempotency-Key": f"{project}{who}{n}"},
                        )
                        if r.status_code != 409:  # 409: retry later, with the same key
                            break
                        await asyncio.sleep(0.1)
                    assert r.status_code == 200, r.text
                    acked.append(r.json())
                return acked

            results = await asyncio.gather(*(votes(p, m) for p in projects for m in MEMBERS))
            answers = [a for acked in results for a in acked]
            last = max(int(str(a["position"])) for a in answers)
            # the read models reach the last vote (one worker projects)
            r = await client.get(
                f"/projects/{projects[0]}?min_position={last}", headers=bearer("auditor", "auditor")
            )
            assert r.status_code == 200, r.text
        names = StoreNames(schema=schema_name)
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT notification_id, originator_id, originator_version FROM "
                f"{names.q('stored_events')} ORDER BY notification_id"
            )
        finally:
            await conn.close()
        assert [r["notification_id"] for r in rows] == list(range(1, len(rows) + 1))
        at = {
            r["notification_id"]: (str(r["originator_id"]), r["originator_version"]) for r in rows
        }
        assert len({a["position"] for a in answers}) == len(answers) == 4 * len(MEMBERS) * 6
        for a in answers:
            assert at[a["position"]] == (a["id"], a["version"])
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        try:
            chain = await verify_chain(pool, names)
        finally:
            await pool.close()
        assert chain.intact, chain
        workers = children_of(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, server.output()
        assert not alive(workers)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        await drop_store_schema(database_url, schema_name)
