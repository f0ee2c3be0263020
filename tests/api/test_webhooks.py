"""Outbound webhooks against a local receiver (a served app and a plain ASGI receiver on
uvicorn): signatures verify (checked here from the Standard Webhooks text, not with the
server's code), retries back off after 500s, each subscription keeps log order and a
failing receiver holds up only its own, redelivery, the tracked position across a
restart, and refusals that write nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from litestar.testing import AsyncTestClient

from api.bootstrap import opened_store
from api.outbound import check_url
from api.scheduler import escalate_once
from api.settings import Settings
from api.webhooks import DEFAULT_TYPES, wants
from domain.errors import InvalidValue
from domain.stored_names import EVENTS
from tests.api.conftest import _free_port, app_settings
from tests.api.scenario import Api
from tests.api.sse import Served, serving
from tests.conftest import drop_store_schema

# --- the receiver -----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # monotonic
    status: int

    @property
    def json(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


@dataclass
class Receiver:
    """Answers 200, or 500 to the next ``failures[path]`` requests on a path."""

    url: str = ""
    got: list[Received] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        status = 200
        if self.failures.get(path, 0) > 0:
            self.failures[path] -= 1
            status = 500
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.got.append(Received(path, headers, body, time.monotonic(), status))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"secret receiver content"})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = _free_port()
    r = Receiver(url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(r, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the receiver did not start"
        await asyncio.sleep(0.01)
    yield r
    server.should_exit = True
    await task


def webhook_settings(database_url: str, schema: str, data_dir: Path, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_private_targets": True,  # the receiver is on 127.0.0.1
        "webhook_poll_s": 0.05,
        "webhook_retry_first_s": 0.2,
        "webhook_retry_max_s": 0.8,
        "webhook_timeout_s": 5.0,
        **more,
    }
    return app_settings(database_url, schema, data_dir, **values)


@pytest.fixture
async def served(database_url: str, schema_name: str, tmp_path: Path) -> AsyncIterator[Served]:
    settings = webhook_settings(database_url, schema_name, tmp_path)
    async with serving(settings, database_url) as s:
        yield s


# --- helpers ----------------------------------------------------------------------------


async def until(check: Callable[[], Any], within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "waited in vain"
        await asyncio.sleep(0.02)


async def subscribe(api: Api, url: str, **body: Any) -> dict[str, Any]:
    r = await api.post("/webhooks", "adam", {"url": url, **body}, "pmo_admin")
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def deliveries(api: Api, webhook_id: str) -> list[dict[str, Any]]:
    r = await api.get(f"/webhooks/{webhook_id}/deliveries", "adam", "pmo_admin")
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def decided_project(api: Api) -> tuple[str, int]:
    """A project whose G0 was decided GO; the decision's position."""
    project = await api.project(await api.portfolio())
    await api.review(project)
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter)).status_code == 200
    r = await api.decide(project, "GO")
    assert r.status_code == 200, r.text
    return project, int(r.json()["position"])


def verifies(secret: str, got: Received) -> bool:
    """Standard Webhooks' check, written from its text: HMAC-SHA256 keyed with the
    secret's base64 bytes over ``id.timestamp.body``; any v1 signature may match."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{got.headers['webhook-id']}.{got.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + got.body, hashlib.sha256).digest())
    offered = [s.partition(",") for s in got.headers["webhook-signature"].split()]
    return any(v == "v1" and hmac.compare_digest(sig.encode(), expected) for v, _, sig in offered)


# --- tests ------------------------------------------------------------------------------


async def test_a_decision_is_delivered_signed(served: Served, receiver: Receiver) -> None:
    api = served.api
    hook = await subscribe(api, receiver.url + "/decisions")
    assert hook["secret"].startswith("whsec_") and len(base64.b64decode(hook["secret"][6:])) == 32
    assert hook["event_types"] == ["*.EscalatedTo", "Project.GateDecided", "ChangeRequest.Decided"]
    project, position = await decided_project(api)
    await until(lambda: receiver.on("/decisions"))
    await asyncio.sleep(0.3)  # nothing else comes: only the decision was wanted
    [got] = receiver.on("/decisions")
    assert verifies(hook["secret"], got)
    tampered = Received(got.path, got.headers, got.body.replace(b"GO", b"NO"), got.at, 200)
    assert not verifies(hook["secret"], tampered)
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert got.headers["content-type"] == "application/json"
    body = got.json
    assert body["type"] == "Project.GateDecided"
    assert body["data"]["position"] == position
    assert body["data"]["aggregate_id"] == project and body["data"]["project_id"] == project
    assert body["data"]["actor"] == "carol" and "decided GO" in body["data"]["summary"]
    [delivery] = await deliveries(api, hook["id"])
    assert delivery["id"] == got.headers["webhook-id"]
    assert (delivery["status"], delivery["attempts"], delivery["position"]) == (
        "delivered",
        1,
        position,
    )
    assert [a["http_status"] for a in delivery["log"]] == [200]
    r = await api.get(f"/webhooks/{hook['id']}", "adam", "pmo_admin")
    assert "secret" not in r.json() and r.json()["pending"] == 0


async def test_retries_back_off_and_keep_log_order_per_subscription(
    served: Served, receiver: Receiver
) -> None:
    api = served.api
    portfolio = await api.portfolio()
    receiver.failures["/failing"] = 3
    failing = await subscribe(api, receiver.url + "/failing", event_types=["Project.*"])
    healthy = await subscribe(api, receiver.url + "/healthy", event_types=["Project.*"])
    project = await api.project(portfolio)
    await api.review(project)
    await api.vote(project, "dave")
    wanted = [d["position"] for d in await deliveries_when(api, healthy["id"], 3)]
    await until(lambda: len([r for r in receiver.on("/failing") if r.status == 200]) == 3)
    attempts = receiver.on("/failing")
    positions = [r.json["data"]["position"] for r in attempts]
    assert positions == [wanted[0]] * 4 + wanted[1:]  # nothing overtakes the failing one
    assert [r.status for r in attempts] == [500, 500, 500, 200, 200, 200]
    assert len({r.headers["webhook-id"] for r in attempts[:4]}) == 1  # one delivery, retried
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts[:4])]
    for gap, wait in zip(gaps, (0.2, 0.4, 0.8), strict=True):  # doubling, up to the cap
        assert wait * 0.95 <= gap < wait * 1.1 + 0.5, gaps
    # the healthy subscription was not held up by the failing one
    done = [r.at for r in receiver.on("/healthy")]
    assert [r.json["data"]["position"] for r in receiver.on("/healthy")] == wanted
    assert done[-1] < attempts[3].at
    first = (await deliveries(api, failing["id"]))[0]
    assert first["attempts"] == 4 and first["status"] == "delivered"
    assert [a["http_status"] for a in first["log"]] == [500, 500, 500, 200]
    assert first["log"][0]["error"] == "the receiver answered 500"
    assert all("secret receiver content" not in (a["error"] or "") for a in first["log"])


async def deliveries_when(api: Api, webhook_id: str, count: int) -> list[dict[str, Any]]:
    for _ in range(500):
        found = await deliveries(api, webhook_id)
        if len(found) >= count and all(d["status"] == "delivered" for d in found):
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} deliveries never came")


async def test_redelivery_sends_the_same_message_again(served: Served, receiver: Receiver) -> None:
    api = served.api
    hook = await subscribe(api, receiver.url + "/again")
    await decided_project(api)
    await until(lambda: receiver.on("/again"))
    [delivery] = await deliveries(api, hook["id"])
    path = f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"
    r = await api.post(path, "adam", None, "pmo_admin")
    assert r.status_code == 200, r.text
    await until(lambda: len(receiver.on("/again")) == 2)
    first, second = receiver.on("/again")
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery["id"]
    assert verifies(hook["secret"], second)
    [after] = await deliveries_when(api, hook["id"], 1)
    assert after["attempts"] == 2 and [a["http_status"] for a in after["log"]] == [200, 200]
    r = await api.post(path.replace(delivery["id"], hook["id"]), "adam", None, "pmo_admin")
    assert r.status_code == 404, r.text


async def test_the_position_survives_a_restart(
    database_url: str, schema_name: str, tmp_path: Path, receiver: Receiver
) -> None:
    """Dispatcher stopped, events appended, dispatcher started again: each event goes
    out once, none skipped, none before the position sent again."""
    on = webhook_settings(database_url, schema_name, tmp_path)
    off = webhook_settings(database_url, schema_name, tmp_path, run_webhooks=False)
    try:
        async with serving(on, database_url, drop=False) as first:
            hook = await subscribe(first.api, receiver.url + "/restart", event_types=["*"])
            before = await first.api.portfolio()
            await deliveries_when(first.api, hook["id"], 1)  # recorded as delivered
        async with serving(off, database_url, drop=False) as second:
            await second.api.project(before)
            await second.api.portfolio(name="While stopped")
            r = await second.api.get(
                f"/audit/events?after={hook['position']}&min_position={second.api.last_position}"
            )
            trail = [e["position"] for e in r.json()["items"]]
            await asyncio.sleep(0.3)
            assert len(receiver.on("/restart")) == 1  # nothing delivered while off
        async with serving(on, database_url, drop=False):
            await until(lambda: len(receiver.on("/restart")) >= len(trail))
            await asyncio.sleep(0.3)  # and no more
        sent = [r.json["data"]["position"] for r in receiver.on("/restart")]
        assert sent == trail and len(trail) == 3  # a portfolio, a project, a portfolio
        assert len({r.headers["webhook-id"] for r in receiver.on("/restart")}) == len(trail)
    finally:
        await drop_store_schema(database_url, schema_name)


async def test_an_escalation_goes_to_a_default_subscription(
    served: Served, receiver: Receiver
) -> None:
    """(With a store of its own, closed before the server stops and its schema goes: a
    schema dropped under a running server can deadlock with its queries.)"""
    api = served.api
    await subscribe(api, receiver.url + "/escalations")
    condition = {"description": "Do the DPIA", "owner": "olga", "due": "2027-02-01"}
    project = await api.project(await api.portfolio())
    await api.review(project)
    for voter in ("dave", "erin"):
        assert (await api.vote(project, voter)).status_code == 200
    r = await api.decide(project, "CONDITIONAL_GO", conditions=[condition])
    assert r.status_code == 200, r.text
    r = await api.get(f"/me/inbox?min_position={api.last_position}", "olga")
    assert r.status_code == 200, r.text  # the escalation job reads the inbox
    async with opened_store(api.settings, prepare_read_models=False, max_size=4) as store:
        assert await escalate_once(store, datetime(2027, 3, 1, 9, tzinfo=UTC)) == 1
    await until(lambda: len(receiver.on("/escalations")) == 2)
    decided, escalated = (r.json for r in receiver.on("/escalations"))
    assert decided["type"] == "Project.GateDecided"
    assert escalated["type"] == "Project.EscalatedTo"
    assert escalated["data"]["project_id"] == project
    assert "to carol" in escalated["data"]["summary"]


async def test_two_servers_deliver_each_event_once(
    database_url: str, schema_name: str, tmp_path: Path, receiver: Receiver
) -> None:
    """One dispatcher at a time (an advisory lock): the other stands by."""
    settings = webhook_settings(database_url, schema_name, tmp_path)
    try:
        async with (
            serving(settings, database_url, drop=False) as one,
            serving(settings, database_url, drop=False),
        ):
            await subscribe(one.api, receiver.url + "/once", event_types=["Portfolio.Created"])
            for n in range(5):
                await one.api.portfolio(name=f"P{n}")
            await until(lambda: len(receiver.on("/once")) >= 5)
            await asyncio.sleep(0.5)  # and no more
        got = receiver.on("/once")
        assert [r.json["data"]["summary"].split("'")[1] for r in got] == [f"P{n}" for n in range(5)]
        assert len({r.headers["webhook-id"] for r in got}) == 5
    finally:
        await drop_store_schema(database_url, schema_name)


# --- refusals ---------------------------------------------------------------------------


async def _rows(database_url: str, schema: str) -> tuple[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        hooks = await conn.fetchval(f'SELECT count(*) FROM "{schema}".gl_webhooks')
        live = await conn.fetchval(
            f'SELECT count(*) FROM "{schema}".gl_webhooks WHERE deleted_at IS NULL'
        )
        return int(hooks), int(live)
    finally:
        await conn.close()


async def _hostile_receiver(connection: Any, writer: asyncio.StreamWriter) -> None:
    """A receiver that never finishes its answer: on /endless a 200 whose body keeps
    coming (64 KiB every 50 ms), on /trickle a status line, then a header byte every
    200 ms."""
    reader: asyncio.StreamReader = connection
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(h.split(b":")[1]) for h in lines if h.lower().startswith(b"content-length"))
    await reader.readexactly(length)
    try:
        if b" /endless " in lines[0]:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n")
            for _ in range(2000):
                writer.write(b"x" * 65536)
                await writer.drain()
                await asyncio.sleep(0.05)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(500):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.2)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def test_a_receiver_that_never_finishes_its_answer_holds_nothing(
    database_url: str, schema_name: str, tmp_path: Path
) -> None:
    server = await asyncio.start_server(_hostile_receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = webhook_settings(database_url, schema_name, tmp_path, webhook_timeout_s=1.0)
    try:
        async with serving(settings, database_url) as s:
            api = s.api
            endless = await subscribe(api, f"http://127.0.0.1:{port}/endless")
            trickle = await subscribe(api, f"http://127.0.0.1:{port}/trickle")
            started = time.monotonic()
            await decided_project(api)
            found: dict[str, list[dict[str, Any]]] = {}

            async def attempted() -> bool:
                for hook in (endless, trickle):
                    found[hook["id"]] = await deliveries(api, hook["id"])
                return all(d and d[0]["log"] for d in found.values())

            while not await attempted():
                assert time.monotonic() - started < 10, f"no attempt recorded: {found}"
                await asyncio.sleep(0.1)
            [delivered] = found[endless["id"]]
            assert delivered["status"] == "delivered"  # the status is all that counts
            assert delivered["log"][0]["http_status"] == 200
            first = found[trickle["id"]][0]["log"][0]
            assert first["http_status"] is None
            assert first["error"] == "the receiver did not answer within 1 s"
            assert first["duration_ms"] < 3000, first
    finally:
        server.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://hooks.example.com/x", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("https:///nohost", "names no host"),
        ("http://127.0.0.1:9/x", "GATELEDGER_WEBHOOK_PRIVATE_TARGETS"),
        ("http://10.1.2.3/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "private"),
        ("http://[::1]/x", "private"),
        ("http://[::ffff:192.168.0.1]/x", "private"),
        ("http://localhost:8000/x", "private"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
    ],
)
async def test_a_url_that_may_not_be_sent_to_is_422_and_writes_nothing(
    client: AsyncTestClient[Any],
    token: Callable[..., dict[str, str]],
    settings: Settings,
    database_url: str,
    url: str,
    says: str,
) -> None:
    r = await client.post("/webhooks", json={"url": url}, headers=token("adam", "pmo_admin"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert says in r.json()["detail"]
    assert await _rows(database_url, settings.schema) == (0, 0)


async def test_only_the_pmo_manages_webhooks(
    client: AsyncTestClient[Any],
    token: Callable[..., dict[str, str]],
    settings: Settings,
    database_url: str,
) -> None:
    body = {"url": "https://hooks.example.com/x"}
    for who in (token("paula"), token("audrey", "auditor"), {}):
        r = await client.post("/webhooks", json=body, headers=who)
        assert r.status_code in (401, 403), r.text
    assert await _rows(database_url, settings.schema) == (0, 0)
    r = await client.post("/webhooks", json=body, headers=token("adam", "pmo_admin"))
    assert r.status_code == 201, r.text
    hook = r.json()["id"]
    r = await client.delete(f"/webhooks/{hook}", headers=token("audrey", "auditor"))
    assert r.status_code == 403, r.text
    assert await _rows(database_url, settings.schema) == (1, 1)
    r = await client.post(
        "/webhooks",
        json={**body, "event_types": ["Project.Nothing"]},
        headers=token("adam", "pmo_admin"),
    )
    assert r.status_code == 422 and "matches no event type" in r.json()["detail"], r.text
    r = await client.delete(f"/webhooks/{hook}", headers=token("adam", "pmo_admin"))
    assert r.status_code == 200, r.text
    assert await _rows(database_url, settings.schema) == (1, 0)  # kept, stopped
    r = await client.get(f"/webhooks/{hook}", headers=token("adam", "pmo_admin"))
    assert r.status_code == 404, r.text


def test_public_addresses_are_accepted_and_private_ones_only_when_allowed() -> None:
    assert check_url("https://93.184.216.34/x", private_allowed=False)
    assert check_url("https://hooks.example.com/x", private_allowed=False)
    assert check_url("http://127.0.0.1:8000/x", private_allowed=True)
    with pytest.raises(InvalidValue):
        check_url("http://100.64.0.1/x", private_allowed=False)  # shared address space


@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:7f00:1::]/x",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::]/x",  # 6to4 of 169.254.169.254 (cloud metadata)
        "http://[64:ff9b::7f00:1]/x",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
        "http://[64:ff9b:1::1]/x",  # local-use NAT64
    ],
)
def test_ipv6_addresses_carrying_a_private_ipv4_one_are_refused(url: str) -> None:
    with pytest.raises(InvalidValue, match="private or reserved"):
        check_url(url, private_allowed=False)
    assert check_url("http://[64:ff9b::5db8:d822]/x", private_allowed=False)  # 93.184.216.34


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://exa mple.com/x", "percent-encoded"),
        ("https://hooks.example.com/a\tb", "percent-encoded"),
        ("https://hooks.example.com:0/x", "port 0"),
    ],
)
def test_urls_no_request_could_go_to_are_refused(url: str, says: str) -> None:
    with pytest.raises(InvalidValue, match=says):
        check_url(url, private_allowed=False)


def test_the_default_types_are_escalations_and_decisions() -> None:
    def wanted(kind: str) -> bool:
        return wants(DEFAULT_TYPES, None, {"type": kind, "portfolio_id": None})

    for kind in EVENTS:
        first_uses = kind.endswith(".EscalatedTo") or kind in (
            "Project.GateDecided",
            "ChangeRequest.Decided",
        )
        assert wanted(kind) == first_uses, kind
    assert sum(wanted(kind) for kind in EVENTS) == 5
