"""Bearer tokens: what ``gateledger token`` mints is what the server accepts."""

from __future__ import annotations

import pytest
from litestar.exceptions import NotAuthorizedException

from api.auth import decode_token, mint_token
from api.settings import Settings

SECRET = "s" * 40


def test_a_minted_token_carries_the_configured_audience_and_issuer() -> None:
    settings = Settings(jwt_secret=SECRET, jwt_audience="gateledger", jwt_issuer="https://idp")
    principal = decode_token(settings, mint_token(settings, "dave", ["auditor"]))
    assert (principal.sub, principal.roles) == ("dave", ("auditor",))


def test_a_token_without_the_required_audience_or_issuer_is_refused() -> None:
    plain = mint_token(Settings(jwt_secret=SECRET), "dave")
    for strict in (
        Settings(jwt_secret=SECRET, jwt_audience="gateledger"),
        Settings(jwt_secret=SECRET, jwt_issuer="https://idp"),
    ):
        with pytest.raises(NotAuthorizedException, match="invalid token"):
            decode_token(strict, plain)


def test_an_expired_token_is_refused() -> None:
    settings = Settings(jwt_secret=SECRET)
    with pytest.raises(NotAuthorizedException, match="expired"):
        decode_token(settings, mint_token(settings, "dave", ttl=-60))


def test_a_token_valid_for_longer_than_the_server_accepts_is_refused() -> None:
    settings = Settings(jwt_secret=SECRET, token_max_ttl_s=3600)
    assert decode_token(settings, mint_token(settings, "dave", ttl=3600)).sub == "dave"
    for ttl in (3700, 100 * 365 * 24 * 3600):  # an hour and a bit, a century
        with pytest.raises(NotAuthorizedException, match="longer than this server accepts"):
            decode_token(settings, mint_token(settings, "dave", ttl=ttl))


def test_by_default_a_year_is_the_longest_a_token_may_run() -> None:
    settings = Settings(jwt_secret=SECRET)
    assert decode_token(settings, mint_token(settings, "dave", ttl=365 * 24 * 3600)).sub
    with pytest.raises(NotAuthorizedException, match="longer than"):
        decode_token(settings, mint_token(settings, "dave", ttl=100 * 365 * 24 * 3600))


@pytest.mark.parametrize("exp", ["4102444800", None, [1]])
def test_an_exp_that_is_not_a_number_is_refused_saying_so(exp: object) -> None:
    import jwt

    token = jwt.encode({"sub": "dave", "exp": exp}, SECRET, algorithm="HS256")
    with pytest.raises(NotAuthorizedException, match="invalid token") as refused:
        decode_token(Settings(jwt_secret=SECRET), token)
    assert "longer than" not in str(refused.value.detail)
