"""Any delegation window is refused (4xx) or projected, read back and rebuilt alike."""

from __future__ import annotations

from hypothesis import example, given

from tests.properties.harness import PROPERTY, Harness
from tests.properties.strategies import texts, windows


def test_any_delegation_window_is_refused_or_projected_and_rebuilt(harness: Harness) -> None:
    @PROPERTY
    @given(window=windows(), reason=texts(max_size=600))
    @example(window=("9999-12-30T00:00:00-23:59", "9999-12-31T23:59:59-23:59"), reason="r")
    @example(window=("2999-12-30T00:00:00-23:59", "2999-12-31T23:59:59-23:59"), reason="r")
    @example(window=("2999-12-30T00:00:00+23:59", "2999-12-31T23:59:59+23:59"), reason="r")
    @example(window=(None, "2999-12-31T23:59:00+00:00"), reason="\ud800")  # not UTF-8
    def case(window: tuple[str | None, str], reason: str) -> None:
        starts, ends = window
        body = {"delegate": "frank", "ends": ends} | ({"starts": starts} if starts else {})

        async def steps() -> None:
            r = await harness.post("/delegations", "erin", body)
            if r.status_code == 201:
                await harness.project_all()
                await harness.audited(r.json(), "erin")
                delegation = r.json()["details"]["delegation_id"]
                revoked = await harness.delete(
                    f"/delegations/{delegation}", "erin", {"reason": reason}
                )
                if revoked.status_code < 400:
                    await harness.project_all()
                    await harness.audited(revoked.json(), "erin")

        harness.run(steps())

    case()
    harness.finish()
