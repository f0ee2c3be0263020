"""Docs that work offline (issue 11 item 5): every docs page, and every stylesheet and
script it loads, names no outside host, and every file they name answers 200.

What counts as a reference: in HTML, the src, href, action, poster, data and srcset
attributes and url(...) in styles; in CSS, url(...), @import and the source map; in
JavaScript, the source map and url("...") of a string (CSS held in a script); the
scripts are classic bundles that import nothing, and what they fetch as they run is
checked in a browser with outside hosts blocked (tests/e2e/test_docs_browser.py).
Inline data (data:, blob:, fragments) loads nothing."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.docs import ASSETS_PATH

ORIGIN = "http://testserver.local"
_URL_ATTRIBUTES = {"src", "href", "action", "poster", "data"}
_CSS_URL = re.compile(r"""url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)"'\s]*))\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+["']([^"']+)["']""")
_SOURCE_MAP = re.compile(r"[#@]\s*sourceMappingURL=([^\s*'\"]+)")
_JS_CSS_URL = re.compile(r"""url\(\s*["']([^"']+)["']\s*\)""")
_INLINE = ("data:", "blob:", "about:", "javascript:", "#")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in _URL_ATTRIBUTES:
                self.urls.append(value)
            elif name == "srcset":
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name == "style":
                self.urls += css_references(value)

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += css_references(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def css_references(css: str) -> list[str]:
    found = ["".join(m.groups(default="")) for m in _CSS_URL.finditer(css)]
    return found + _CSS_IMPORT.findall(css) + _SOURCE_MAP.findall(css)


def references(content_type: str, text: str) -> list[str]:
    if "html" in content_type:
        parser = _References()
        parser.feed(text)
        return parser.urls
    if "css" in content_type:
        return css_references(text)
    if "javascript" in content_type:
        return _SOURCE_MAP.findall(text) + _JS_CSS_URL.findall(text)
    return []


def docs_pages(app: Any) -> list[str]:
    """Every route litestar and we serve under /docs that takes no path parameter."""
    pages = {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/docs") and "{" not in route.path
    }
    return sorted(pages | {"/docs/scalar"})  # Scalar is gone: its old address must be clean too


async def crawl(client: AsyncTestClient[Any], pages: list[str]) -> dict[str, list[str]]:
    """Each fetched URL and the references found in it, following local ones."""
    seen: dict[str, list[str]] = {}
    queue = [ORIGIN + page for page in pages]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        r = await client.get(url)
        expected = {200, 404} if url.endswith("/docs/scalar") else {200}
        assert r.status_code in expected, (url, r.status_code)
        found = references(r.headers.get("content-type", ""), r.text)
        seen[url] = found
        for ref in found:
            if ref.strip().lower().startswith(_INLINE) or not ref.strip():
                continue
            absolute = urljoin(url, ref.strip())
            assert urlsplit(absolute).netloc == urlsplit(ORIGIN).netloc, (
                f"{url} names an outside host: {ref[:200]}"
            )
            queue.append(absolute.split("#", 1)[0])
    return seen


async def test_no_docs_page_names_an_outside_host_and_every_local_file_answers(
    client: AsyncTestClient[Any],
) -> None:
    pages = docs_pages(client.app)
    assert {"/docs", "/docs/swagger", "/docs/openapi.json", "/docs/oauth2-redirect.html"} <= set(
        pages
    )
    seen = await crawl(client, pages)
    # The Swagger UI page loads its script, preset, stylesheet and icon from the app, and
    # the stylesheet's source map is followed too.
    for name in (
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
        "swagger-ui.css.map",
        "favicon-32x32.png",
    ):
        assert f"{ORIGIN}{ASSETS_PATH}/{name}" in seen, name
    assert seen[f"{ORIGIN}/docs"] == seen[f"{ORIGIN}/docs/swagger"]


async def test_only_the_files_the_docs_use_are_served_and_kept_for_good(
    client: AsyncTestClient[Any],
) -> None:
    r = await client.get(f"{ORIGIN}{ASSETS_PATH}/swagger-ui-bundle.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "max-age=31536000" in r.headers["cache-control"]
    assert "SwaggerUIBundle" in r.text
    # the package's demo page loads an outside example: not served; nor anything else
    for name in ("index.html", "swagger-initializer.js", "..%2F__init__.py", "nothing.js"):
        r = await client.get(f"{ORIGIN}{ASSETS_PATH}/{name}")
        assert r.status_code == 404, (name, r.status_code)


async def test_the_docs_need_no_token_and_take_any_query(client: AsyncTestClient[Any]) -> None:
    for path in ("/docs?x=1", f"{ASSETS_PATH}/swagger-ui.css?v=2"):
        r = await client.get(ORIGIN + path)
        assert r.status_code == 200, (path, r.text[:200])
