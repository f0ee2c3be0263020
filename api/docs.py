"""The interactive API docs, served whole by the app: no asset comes from an outside host.

litestar's render plugins load Swagger UI's script and styles, and their favicon, from a
CDN, so ``/docs`` was a blank page on a machine without internet. Swagger UI's
distribution comes from the ``swagger-ui-bundle-v2`` package instead and is served
under ``/docs/assets/swagger-ui-<version>/``: the version is in the path, so browsers may
keep the files for good. Only the files the page uses are served (not the package's
demo page, which loads an outside example).

Scalar is not offered: no package on PyPI ships its bundle without bringing in another
web framework (the Flask plugins that carry it), and it fetches its fonts from its own
host. Swagger UI alone serves ``/docs`` and ``/docs/swagger``.

Everything here lives under ``/docs``, which the access guard treats as litestar's own
(public, no query-parameter check).
"""

from __future__ import annotations

from pathlib import Path

from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.response import File
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/docs"
SWAGGER_DIR = Path(str(swagger_ui_path))
ASSETS_PATH = f"{DOCS_PATH}/assets/{SWAGGER_DIR.name}"  # e.g. /docs/assets/swagger-ui-5.31.0

# What the page loads, and the source map the stylesheet names, with their media types
# (a browser refuses a script or stylesheet sent as anything else).
SERVED = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui.css.map": "application/json",
    "favicon-32x32.png": "image/png",
}
_FOR_GOOD = CacheControlHeader(max_age=365 * 24 * 3600, public=True)


@get(
    f"{ASSETS_PATH}/{{name:str}}",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=_FOR_GOOD,
)
def docs_asset(name: str) -> File:
    """One of Swagger UI's files, from the installed package."""
    if name not in SERVED:
        raise NotFoundException(f"no docs asset {name!r}")
    return File(SWAGGER_DIR / name, content_disposition_type="inline", media_type=SERVED[name])


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at ``/docs`` and ``/docs/swagger``, loading only the files above."""
    return [
        SwaggerRenderPlugin(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        )
    ]
