"""Verified tokens are remembered until they expire, never beyond, and a remembered
token is the same principal a fresh verification gives."""

from __future__ import annotations

import time

import pytest
from litestar.exceptions import NotAuthorizedException

from api import auth
from api.auth import LEEWAY_S, Principal, VerifiedTokens, decode_token, mint_token
from api.settings import Settings

SECRET = "verified-tokens-" + "x" * 40


def test_a_remembered_token_names_who_it_named_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(jwt_secret=SECRET)
    token = mint_token(settings, "alice", ["auditor"], ttl=60)
    tokens = VerifiedTokens()
    first = tokens.principal(settings, token)
    assert first == decode_token(settings, token)
    assert first.sub == "alice" and first.roles == ("auditor",)
    assert tokens.principal(settings, token) is first  # remembered, not verified again
    # past its exp (and the leeway): verified again, which refuses it
    later = time.time() + 60 + LEEWAY_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    verified: list[str] = []

    def verify(settings: Settings, token: str) -> tuple[Principal, float]:
        verified.append(token)
        raise NotAuthorizedException("the token has expired")

    monkeypatch.setattr(auth, "_verify", verify)
    with pytest.raises(NotAuthorizedException, match="expired"):
        tokens.principal(settings, token)
    assert verified == [token]


def test_a_bad_token_is_never_remembered() -> None:
    settings = Settings(jwt_secret=SECRET)
    tokens = VerifiedTokens()
    forged = mint_token(Settings(jwt_secret="another-" + "y" * 40), "mallory")
    for _ in range(2):
        with pytest.raises(NotAuthorizedException, match="invalid token"):
            tokens.principal(settings, forged)
    assert len(tokens._entries) == 0


def test_the_least_recently_used_go_first() -> None:
    settings = Settings(jwt_secret=SECRET)
    tokens = VerifiedTokens(size=2)
    a, b, c = (mint_token(settings, p) for p in ("ann", "bob", "cat"))
    tokens.principal(settings, a)
    tokens.principal(settings, b)
    tokens.principal(settings, a)  # a used last: b goes when c comes
    tokens.principal(settings, c)
    assert list(tokens._entries) == [a, c]
