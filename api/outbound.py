"""What goes out to webhook receivers: signatures (Standard Webhooks) and the checks
on where a request may go.

A secret is ``whsec_`` and 32 random bytes in base64. Each request carries
``webhook-id`` (the delivery's id, the same on every retry: receivers drop repeats
by it), ``webhook-timestamp`` (seconds since 1970) and ``webhook-signature``: ``v1,``
and the base64 HMAC-SHA256, keyed with the secret's bytes, of
``{webhook-id}.{webhook-timestamp}.{body}``.

Receivers on loopback, private, link-local or otherwise reserved addresses are refused
unless ``GATELEDGER_WEBHOOK_PRIVATE_TARGETS`` is on (docs/security.md#webhooks): an
address given as such is refused when the subscription is made (422); a name is
resolved before each request and refused (that attempt fails) if any of its addresses
is one of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from domain.errors import InvalidValue

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for these."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the low bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use translation


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return True
        # an IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) reaches that one
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return not ip.is_global or ip.is_multicast


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_url(url: str, *, private_allowed: bool) -> str:
    """The URL if a subscription may send to it, else ``InvalidValue`` (422) saying why."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidValue(f"url: only http and https URLs are delivered to, not {url[:100]!r}")
    if any(c <= " " or c == "\x7f" for c in url):
        raise InvalidValue("url: spaces and control characters must be percent-encoded")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InvalidValue(f"url: {url[:100]!r} has a port that is not a number") from None
    if port == 0:
        raise InvalidValue(f"url: {url[:100]!r} names port 0, which no receiver listens on")
    if not host:
        raise InvalidValue(f"url: {url[:100]!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidValue("url: put no credentials in the URL; receivers check the signature")
    if parts.fragment:
        raise InvalidValue("url: a fragment (#...) is never sent to a server")
    literal = _literal(host)
    local = host.lower() == "localhost" or host.lower().endswith(".localhost")
    if not private_allowed and (local or (literal is not None and _private(literal))):
        raise InvalidValue(
            f"url: {host} is a loopback, private or reserved address; receivers there are "
            "refused unless GATELEDGER_WEBHOOK_PRIVATE_TARGETS is on"
        )
    return url


async def check_destination(url: str, *, private_allowed: bool) -> None:
    """Before each request: ``PermissionError`` naming the address if the URL's host
    resolves to a refused one (never when private targets are allowed)."""
    if private_allowed:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        found = await asyncio.get_running_loop().getaddrinfo(host, port)
        addresses = [str(info[4][0]) for info in found]
    refused = [a for a in addresses if _private(a)]
    if refused:
        raise PermissionError(
            f"{host} resolves to {refused[0]}, a loopback, private or reserved address "
            "(GATELEDGER_WEBHOOK_PRIVATE_TARGETS is off)"
        )
