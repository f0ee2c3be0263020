"""Given-steps shared by API tests: a portfolio, a project, a review with votes."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from api.auth import mint_token
from api.settings import Settings

BOARD = {"members": ["carol", "dave", "erin"], "chair": "carol"}
PORTFOLIO = {
    "name": "Digital",
    "objectives": ["Modernise"],
    "envelope": {"amount": "1000000.00", "currency": "EUR"},
    "board": BOARD,
}


def project_body(portfolio_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "portfolio_id": portfolio_id,
        "name": "CRM",
        "pm": "paula",
        "sponsor": "sam",
        "baseline": {
            "budget": {"amount": "250000.00", "currency": "EUR"},
            "start": "2027-01-01",
            "end": "2027-12-31",
            "scope": "Replace the CRM",
        },
        "tolerances": {"cost_pct": "10", "schedule_days": 30},
    }
    body.update(overrides)
    return body


class Api:
    """A thin driver: one method per step, asserting the step succeeded."""

    def __init__(self, client: AsyncTestClient[Any], settings: Settings) -> None:
        self.client, self.settings = client, settings
        self.last_position = 0

    def auth(self, person: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, person, roles)}"}

    async def post(self, path: str, person: str, body: Any, *roles: str, **headers: str) -> Any:
        r = await self.client.post(
            path, json=body, headers={**self.auth(person, *roles), **headers}
        )
        if r.status_code in (200, 201):
            self.last_position = max(self.last_position, r.json()["position"])
        return r

    async def get(self, path: str, person: str = "auditor", *roles: str) -> Any:
        return await self.client.get(path, headers=self.auth(person, *(roles or ("auditor",))))

    async def portfolio(self, **overrides: Any) -> str:
        r = await self.post("/portfolios", "admin", {**PORTFOLIO, **overrides}, "pmo_admin")
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def project(self, portfolio_id: str | None = None, **overrides: Any) -> str:
        portfolio_id = portfolio_id or await self.portfolio()
        r = await self.post(
            "/projects", "admin", project_body(portfolio_id, **overrides), "pmo_admin"
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def review(self, project_id: str, gate: str = "G0", pm: str = "paula") -> Any:
        r = await self.post(
            f"/projects/{project_id}/gates/{gate}/review",
            pm,
            {"evidence": [{"title": "Mandate", "content_hash": "sha256:abc"}]},
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def vote(
        self, project_id: str, voter: str, vote: str = "approve", gate: str = "G0"
    ) -> Any:
        return await self.post(
            f"/projects/{project_id}/gates/{gate}/votes",
            voter,
            {"vote": vote, "rationale": f"{voter} says {vote}"},
        )

    async def decide(
        self, project_id: str, decision: str = "GO", gate: str = "G0", **extra: Any
    ) -> Any:
        body = {"decision": decision, "rationale": "board decided", **extra}
        return await self.post(f"/projects/{project_id}/gates/{gate}/decision", "carol", body)

    async def state(self, project_id: str, query: str = "") -> dict[str, Any]:
        """The project's read model once it caught up with our writes (or as of ``query``)."""
        query = query or f"?min_position={self.last_position}"
        r = await self.get(f"/projects/{project_id}{query}")
        assert r.status_code == 200, r.text
        return r.json()
