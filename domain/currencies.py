"""ISO 4217 currency codes: the only currencies money may be in.

The active alphabetic codes of ISO 4217 List One (as amended to 2026: XCG replaced ANG,
ZWG replaced ZWL, SLE replaced SLL; HRK, CUC and BGN are gone), less XTS (reserved for
testing) and XXX (no currency involved), which no budget is in. A fixed list in the
domain: update it here when ISO withdraws or adds a code. Checked by command methods
only (``require_currency``), so stored events replay as they were recorded.
"""

from __future__ import annotations

from domain.errors import InvalidValue

_LIST_ONE = """
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP
PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP
SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV
WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG
"""
ISO_4217: frozenset[str] = frozenset(_LIST_ONE.split())


def require_currency(code: object, what: str, expected: str | None = None) -> str:
    """``code`` if it is an active ISO 4217 code (and ``expected``, when given: one
    currency per portfolio); InvalidValue naming ``what`` and the rule otherwise."""
    if not isinstance(code, str) or code not in ISO_4217:
        raise InvalidValue(f"{what}: {code!r} is not an active ISO 4217 currency code")
    if expected is not None and code != expected:
        raise InvalidValue(
            f"{what}: {code} is not the portfolio's currency {expected} (a portfolio, its "
            "projects and their change requests use one currency)"
        )
    return code
