"""What every page shares: the template engine and its filters, the static assets (with
their content hash in the URL), the answer's headers and the HTML error page.

Times are written as ``<time datetime="...Z" title="... UTC">`` and rewritten by
``pages.js`` into the reader's time zone (the UTC time stays on hover); amounts as
``<data class="money" value="..." data-currency="...">`` with thousands separators,
which the script formats for the reader's locale. With JavaScript off both read as
written: UTC times, amounts with the currency code.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
from jinja2 import Environment
from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import File, Redirect, Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from api.errors import EXCEPTION_HANDLERS
from api.pages.sessions import page_session_of

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PATH = "/static"
_TYPES = {".css": "text/css", ".js": "text/javascript"}  # litestar adds the charset

# Every page: no outside host, no inline script, no framing; the sign-in link's token
# never leaves in a Referer; personal pages are not cached.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _versions() -> dict[str, str]:
    """Each static file's name -> the start of its content's SHA-256 (its URL's version)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        for p in sorted(STATIC.iterdir())
        if p.suffix in _TYPES
    }


VERSIONS = _versions()


def asset_url(name: str) -> str:
    """``/static/<hash>/<name>``: a new file is a new URL, so browsers keep each for good."""
    return f"{STATIC_PATH}/{VERSIONS[name]}/{name}"


@get(
    f"{STATIC_PATH}/{{version:str}}/{{name:str}}",
    operation_id="pageAsset",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True, immutable=True),
)
def page_asset(version: str, name: str) -> File:
    """One of the pages' own stylesheets or scripts, at its current version only."""
    if VERSIONS.get(name) != version:
        raise NotFoundException(f"no asset {name!r} at version {version!r}")
    path = STATIC / name
    return File(path, content_disposition_type="inline", media_type=_TYPES[path.suffix])


# --- filters -------------------------------------------------------------------------------


def utc_time(value: datetime | str | None) -> Markup:
    """A moment, in UTC, as a ``<time>`` the script shows in the reader's time zone."""
    if value is None or value == "":
        return Markup("")
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    iso = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = moment.strftime("%Y-%m-%d %H:%M UTC")  # digits, '-', ':', ' ': nothing to escape
    return Markup(f'<time datetime="{iso}" title="{shown}" data-local>{shown}</time>')


def day(value: date | str | None) -> Markup:
    """A calendar day (a due date): the same everywhere, so not converted."""
    if value is None or value == "":
        return Markup("")
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return Markup(f'<time datetime="{d.isoformat()}">{escape(d.strftime("%d %b %Y"))}</time>')


def money(value: Any, currency: str | None = None) -> Markup:
    """An amount with its currency: ``{"amount", "currency"}``, a Money, or two values."""
    if isinstance(value, dict):
        amount, currency = value.get("amount"), value.get("currency")
    elif hasattr(value, "amount") and hasattr(value, "currency"):
        amount, currency = value.amount, value.currency
    else:
        amount = value
    try:
        number = Decimal(str(amount))
        shown = f"{number:,.2f}"
    except InvalidOperation:
        return escape(f"{amount} {currency or ''}".strip())
    code = escape(currency or "")
    # an f-string of escaped parts: Markup.format's formatter took half the portfolio
    # page's rendering (a card's budget each, ~180 a page)
    return Markup(
        f'<data class="money" value="{escape(str(number))}" data-currency="{code}">'
        f"{code} {escape(shown)}</data>"
    )


def safe_href(link: str | None) -> str | None:
    """A link evidence names, if a browser may follow it (http, https or mailto only:
    never ``javascript:``)."""
    if not link:
        return None
    lowered = link.strip().lower()
    return link.strip() if lowered.startswith(("https://", "http://", "mailto:")) else None


def _configure(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.filters.update(utc_time=utc_time, day=day, money=money, safe_href=safe_href)
    env.globals.update(asset=asset_url)
    env.trim_blocks = env.lstrip_blocks = True


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_configure
    )


# --- rendering -------------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    *,
    title: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A page from ``template`` (which extends ``base.html``) with what every page
    needs: who is signed in (``me``), the CSRF token for its forms (``csrf``), ``title``."""
    session = page_session_of(request)
    return Template(
        template_name=template,
        context={
            "me": session.principal if session else None,
            "csrf": session.csrf if session else "",
            "by_session": bool(session and session.cookie),
            "title": title,
            "path": request.url.path,
            **context,
        },
        status_code=status,
        headers={**PAGE_HEADERS, **(headers or {})},
    )


def api_problem(request: Request, exc: Exception) -> tuple[dict[str, Any], dict[str, str]]:
    """The problem the API answers for ``exc`` (its body and headers), from the API's
    own exception map, so a page says what the API says."""
    for cls in type(exc).__mro__:
        handler = EXCEPTION_HANDLERS.get(cls)
        if handler is not None:
            response: Response[dict[str, Any]] = handler(request, exc)
            headers = {
                k: v
                for k, v in response.headers.items()
                if k.lower() in ("retry-after", "www-authenticate")
            }
            return dict(response.content), headers
    raise exc  # pragma: no cover: Exception is in the map


def form_problem(request: Request, exc: Exception) -> dict[str, Any]:
    """The problem to show next to a refused form: the API's answer to ``exc``, or for a
    form its request schema refused (``msgspec.convert``), the 422 the API gives a body
    it cannot take."""
    if isinstance(exc, msgspec.ValidationError):
        return {"status": 422, "title": "Invalid request", "detail": str(exc)}
    problem, _headers = api_problem(request, exc)
    return problem


def page_error(request: Request, exc: Exception) -> Response[Any]:
    """Errors on pages, as a page: a GET by someone not signed in goes to the sign-in
    page (and back after); anything else shows the API's problem, with its status."""
    if (
        isinstance(exc, NotAuthorizedException)
        and request.method == "GET"
        and not request.headers.get("authorization")
    ):
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/sign-in?next={quote(back, safe='/')}", status_code=303)
    problem, headers = api_problem(request, exc)
    return render(
        request,
        "error.html",
        title=problem.get("title", "Error"),
        status=int(problem.get("status", 500)),
        headers=headers,
        problem=problem,
    )
