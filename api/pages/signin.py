"""Signing in and out: the sign-in page, a link's confirmation, the session's start and end."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect, Template

from api.pages.render import PAGE_HEADERS, render
from api.pages.sessions import (
    COOKIE,
    LINK_MAX_CHARS,
    SESSION_TTL_S,
    LinkRefused,
    link_used,
    page_session_of,
    read_link,
    safe_path,
    session_of,
    sign_in,
    sign_out,
)
from eventstore.database import Store

Next = QueryParameter(name="next", max_length=500, description="where to go after")
SignedOut = Parameter(default="", max_length=1, description="just signed out")
Token = Parameter(default="", max_length=LINK_MAX_CHARS, description="the link's token")


def _next(value: str) -> str:
    try:
        return safe_path(value) if value else ""
    except ValueError:
        return ""


class SignInPages(Controller):
    include_in_schema = False

    @get("/", operation_id="pageHome", sync_to_thread=False)
    def home(self) -> Redirect:
        return Redirect("/inbox", status_code=303)

    @get("/sign-in", operation_id="pageSignIn")
    async def sign_in_page(
        self,
        request: Request,
        next_: Annotated[str, Next] = "",
        signed_out: str = SignedOut,
    ) -> Template:
        """How to get a link (there is no password to type)."""
        session = await session_of(request)
        return render(
            request,
            "sign_in.html",
            title="Sign in",
            status=200,
            already=session.principal if session else None,
            next=_next(next_),
            signed_out=bool(signed_out),
        )

    @get("/sign-in/link", operation_id="pageSignInLink")
    async def confirm(self, request: Request, store: Store, token: str = Token) -> Template:
        """A link opened: say who it signs in and where it leads, with a button to go on
        (a GET spends nothing: a link preview or mail scanner may fetch it)."""
        try:
            link = read_link(request.app.state.settings, token)
            if await link_used(store, link):
                raise LinkRefused("this sign-in link was used already: each link signs in once")
        except LinkRefused as refused:
            return _refused(request, str(refused))
        return render(request, "sign_in_link.html", title="Sign in", link=link, token=token)

    @post("/sign-in/link", operation_id="signInByLink", status_code=303)
    async def start(self, request: Request, store: Store) -> Response[Any]:
        """Spend the link, start the session, go where the link leads. A POST from
        another site is refused before anything happens: it would sign the visitor out
        of their own session and in as the link's person (login CSRF), without the
        anti-forgery token other forms carry (there is no session yet to hold one)."""
        if request.headers.get("sec-fetch-site") == "cross-site":
            return _refused(
                request,
                "this sign-in came from another site, so it was refused and nothing changed: "
                "open the link itself and press Sign in",
                status=403,
            )
        form = await request.form()
        token = form.get("token")
        try:
            if not isinstance(token, str) or len(token) > LINK_MAX_CHARS:
                raise LinkRefused("this is not a valid sign-in link")
            link = read_link(request.app.state.settings, token)
            value = await sign_in(store, link)
        except LinkRefused as refused:
            return _refused(request, str(refused))
        earlier = await session_of(request)
        if earlier is not None and earlier.cookie:
            await sign_out(store, earlier.cookie)
        response = Redirect(link.to, status_code=303, headers=PAGE_HEADERS)
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_TTL_S,
            path="/",
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )
        return response

    @post("/sign-out", operation_id="signOut", status_code=303)
    async def sign_out(self, request: Request, store: Store) -> Response[Any]:
        """End the session (its row is deleted: the cookie no longer signs anyone in)."""
        session = page_session_of(request)
        if session is not None and session.cookie:
            await sign_out(store, session.cookie)
        response = Redirect("/sign-in?signed_out=1", status_code=303, headers=PAGE_HEADERS)
        response.delete_cookie(COOKIE, path="/")
        return response


def _refused(request: Request, why: str, status: int = 400) -> Template:
    return render(request, "sign_in.html", title="Sign in", status=status, refused=why, next="")
