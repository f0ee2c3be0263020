"""The interactive docs render in a real browser with every outside host blocked (issue 11
item 5): Debian's Chromium, driven by Playwright, opens /docs and /docs/swagger of a
real ``gateledger serve``; any request to a host other than the server's is aborted and
recorded. Swagger UI must list every operation the schema publishes, having asked
nothing of the outside world and had no request of its own fail."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, sync_playwright

from tests.e2e.server import Server, start

CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` cannot download browsers here
INLINE = ("data:", "blob:", "about:")


@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[Server]:
    served = start(data_dir, tmp_path / "serve.log")
    try:
        served.wait_healthy()
        yield served
    finally:
        served.process.terminate()
        served.exit_code()


def published_operations(server: Server) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/docs/openapi.json") as r:
        paths = json.loads(r.read())["paths"]
    return sum(1 for item in paths.values() for op in item.values() if "operationId" in op)


def test_the_docs_list_every_operation_with_outside_hosts_blocked(
    server: Server, tmp_path: Path
) -> None:
    origin = f"http://127.0.0.1:{server.port}"
    operations = published_operations(server)
    outside: list[str] = []
    failed: list[str] = []

    def only_local(route: Route) -> None:
        url = route.request.url
        if url.startswith(INLINE) or urlsplit(url).netloc == urlsplit(origin).netloc:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            context = browser.new_context()
            context.route("**/*", only_local)
            page: Page = context.new_page()
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.on(
                "response",
                lambda answer: (
                    failed.append(f"{answer.status} {answer.url}") if answer.status >= 400 else None
                ),
            )
            for path in ("/docs", "/docs/swagger"):
                page.goto(origin + path)
                page.wait_for_selector(".opblock", timeout=30_000)
                assert "Gateledger" in page.locator(".info .title").inner_text()
                assert page.locator(".opblock").count() == operations, path
                page.screenshot(path=str(tmp_path / f"{path.strip('/').replace('/', '-')}.png"))
        finally:
            browser.close()
    assert outside == [], "the docs asked an outside host"
    assert failed == [], "a request of the docs failed"
