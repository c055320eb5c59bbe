"""Keyed pseudonyms for personal data, in identifier fields and inside free text.

A pseudonym is ``<Kind>-<10 hex digits>``: an HMAC-SHA256 of the value's canonical form
under a key from ``GRAPHFRAUD_REDACT_KEY``. The digest does not depend on the kind, so
the phone ``13800138001`` of a Phone node, the same number written ``+86 138-0013-8001``
in a review, and a payment account that is that phone number all carry the same digest.

Free text (review texts, nicknames, shop names, any string property) is scanned for:

==============  ====================================================================
kind            what is recognised
==============  ====================================================================
Email           ``name@host.tld``
IP              IPv4 and IPv6 (validated, so times such as ``10:30:00`` stay)
IDCard          Chinese resident ID numbers (18 characters, with birth date)
Phone           Chinese mobiles (optionally ``+86``/``0086``, spaces or dashes),
                Chinese landlines (``010-12345678``), international ``+CC ...``
PaymentAccount  card-like numbers: 13 to 19 digits, optionally grouped
Address         Chinese street addresses (``...路88号``, with building/unit/room) and
                English ones (``221B Baker Street``)
==============  ====================================================================

What patterns cannot catch is listed in docs/security.md (names, addresses without a
street number, numbers spelt out, text in images).

>>> r = Redactor(b"k")
>>> r.text("call +86 138-0013-8001 or mail a.b@example.com") == (
...     f"call {r.token('Phone', '13800138001')} or mail {r.token('Email', 'A.B@example.com')}")
True
>>> r.text("at 10:30:00, from 2001:db8::1") == f"at 10:30:00, from {r.token('IP', '2001:0db8:0:0::1')}"
True
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import ParameterError
from ..schema import SENSITIVE_NODE_TYPES

#: Node types whose keys are personal identifiers and are pseudonymised by ``--redact``.
SENSITIVE_TYPES = SENSITIVE_NODE_TYPES
REDACT_KEY_ENV = "GRAPHFRAUD_REDACT_KEY"

_CJK = "\u4e00-\u9fff"
# Every repetition is bounded and every pattern anchored to the start of a run, so a
# megabyte of letters or digits costs linear time (an unbounded [..]+@ is quadratic).
_EMAIL = (r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}"
          r"\.[A-Za-z]{2,24}(?![A-Za-z])")
_IPV6 = (r"(?<![0-9A-Fa-f:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
         r"(?![0-9A-Fa-f:]|\.\d)")
_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
_ID_CARD = (r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
            r"(?![0-9A-Za-z])")
_CN_MOBILE = r"(?<![\d+])(?:(?:\+|00)86[ \-]?|86[ \-])?1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)"
_CN_LANDLINE = r"(?<![\d+])(?:\(0\d{2,3}\)|0\d{2,3})[ \-]?\d{7,8}(?!\d)"
_INTL_PHONE = r"(?<![\w+])\+\d{1,3}(?:[ .\-]{0,2}\(?\d{1,4}\)?){2,6}(?!\d)"
_CARD = r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])"
_CN_STREET = (rf"(?:大道|路|街|巷|弄|胡同|道)[ ]?[0-9０-９]{{1,6}}[ ]?号"
              rf"(?:[ ]?[0-9０-９A-Za-z{_CJK}]{{0,12}}?(?:号楼|栋|幢|座|单元|楼|层|室)){{0,6}}")
#: Words that introduce an address; kept in clear so the pseudonym covers the address alone.
_ADDRESS_LEAD = re.compile(r"^(?:(?:我们|我家|我|本人|家)?(?:家住|住在|住|在)"
                           r"|收货地址|收件地址|详细地址|家庭住址|地址|住址"
                           r"|寄到|寄往|送到|发到|位于)[:：]?\s*")
_EN_ADDRESS = (r"(?<![\w])\d{1,5}[A-Za-z]?[ \t]{1,3}(?:[A-Z][A-Za-z]{0,30}[ \t]{1,3}){1,4}"
               r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Boulevard|Blvd|Drive|Dr|Way|Court|Ct|Place|Pl|Square|Sq)\b\.?")

class _Substitutes(Protocol):
    """What PATTERNS holds: a compiled regex, or a matcher with the same ``sub`` and ``pattern``."""

    @property
    def pattern(self) -> str: ...

    def sub(self, repl: Callable[[re.Match[str]], str], text: str, /) -> str: ...


_ANY = re.compile(r".*", re.S)


class _ChineseAddress:
    """Chinese street addresses: ``<place and street name><路|街|...><number>号[building, unit, room]``.

    Found from the street marker backwards (at most 32 characters of place and street
    name), so the cost is linear in the text; a regex with a free-length prefix tries
    that prefix at every character of a long Chinese text.
    """

    street = re.compile(_CN_STREET)
    name_char = re.compile(rf"[{_CJK}0-9]")
    pattern = _CN_STREET

    def sub(self, repl: Callable[[re.Match[str]], str], text: str, /) -> str:
        out: list[str] = []
        last = 0
        for m in self.street.finditer(text):
            start = m.start()
            while start > last and m.start() - start < 32 and self.name_char.match(text, start - 1):
                start -= 1
            if start == m.start():
                continue  # a street marker without a street name
            # repl takes a match, as from re.sub; this one spans the address alone.
            address = _ANY.match(text, start, m.end())
            assert address is not None  # ".*" under DOTALL matches any text
            out += [text[last:start], repl(address)]
            last = m.end()
        return "".join(out) + text[last:] if out else text


#: (kind, pattern) in the order they are applied: more specific forms first, so a phone
#: inside an e-mail address is not cut out on its own and +86 numbers stay phones.
PATTERNS: tuple[tuple[str, _Substitutes], ...] = (*((kind, re.compile(p)) for kind, p in (
    ("Email", _EMAIL), ("IP", _IPV6), ("IP", _IPV4), ("IDCard", _ID_CARD), ("Phone", _CN_MOBILE),
    ("Phone", _INTL_PHONE), ("Phone", _CN_LANDLINE), ("PaymentAccount", _CARD),
    ("Address", _EN_ADDRESS),
)), ("Address", _ChineseAddress()))
#: The kinds an identifier (an account, review or order id) may be made of: a login that
#: is a phone number or an e-mail leaks as much as the Phone node would. Card and address
#: patterns are left out: 18-digit order numbers are ids, not cards.
ID_KINDS = ("Email", "IP", "IDCard", "Phone")
_WHOLE = tuple((kind, re.compile(rf"^(?:{p.pattern})$")) for kind, p in PATTERNS if kind != "Address")
_TOKEN = re.compile(r"(?:Device|IP|PaymentAccount|Address|Phone|Email|IDCard)-[0-9a-f]{10}")


def _ip(value: str) -> str | None:
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        return None


def canonical(value: str) -> str:
    """The form a value is pseudonymised in, so equal values written differently match.

    >>> canonical("+86 138-0013-8001"), canonical("2001:DB8:0::1"), canonical(" 6222 0213 4567 8901 ")
    ('13800138001', '2001:db8::1', '6222021345678901')
    """
    text = " ".join(str(value).split())
    for kind, pattern in _WHOLE:
        if not pattern.match(text):
            continue
        if kind == "IP":
            return _ip(text) or text
        if kind == "Email":
            return text.lower()
        if kind in ("Phone", "PaymentAccount", "IDCard"):
            digits = re.sub(r"[^\dXx]", "", text).upper()
            if kind == "Phone" and re.fullmatch(r"(?:0086|86)1[3-9]\d{9}", digits):
                digits = digits[-11:]
            return ("+" + digits) if kind == "Phone" and text.startswith("+") and not digits.startswith("1") else digits
    return text


class Redactor:
    """Keyed pseudonyms: ``token(kind, value)`` is stable for one key and reveals nothing without it.

    >>> r = Redactor(b"k")
    >>> r.token("IP", "10.0.0.1") == r.token("IP", "10.0.0.1") != r.token("IP", "10.0.0.2")
    True
    >>> bool(re.fullmatch(r"IP-[0-9a-f]{10}", r.token("IP", "10.0.0.1")))
    True
    >>> Redactor(b"other").token("IP", "10.0.0.1") == r.token("IP", "10.0.0.1")
    False
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_env(cls) -> Redactor:
        key = os.environ.get(REDACT_KEY_ENV)
        if not key:
            raise ParameterError(
                f"--redact needs a secret key in the environment variable {REDACT_KEY_ENV} (keep it to map "
                f"tokens back; use the same key to get the same tokens), "
                f"e.g. export {REDACT_KEY_ENV}=\"$(openssl rand -hex 32)\".")
        return cls(key.encode())

    def token(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, canonical(value).encode(), hashlib.sha256).hexdigest()[:10]
        return f"{kind}-{digest}"

    def text(self, value: str | None, kinds: tuple[str, ...] | None = None) -> str | None:
        """Pseudonymise every recognised personal datum inside free text (of ``kinds``, default all)."""
        if not value:
            return value
        for kind, pattern in PATTERNS:
            if kinds is None or kind in kinds:
                value = pattern.sub(self._replacer(kind), value)
        return value

    def identifier(self, value: str | None) -> str | None:
        """An id with any phone, e-mail, IP or ID-card number in it pseudonymised."""
        return self.text(value, ID_KINDS)

    def _replacer(self, kind: str) -> Callable[[re.Match[str]], str]:
        def replace(m: re.Match[str]) -> str:
            found = m.group()
            if _TOKEN.fullmatch(found) or (kind == "IP" and _ip(found) is None):
                return found  # a pseudonym already, or a time / version number that only looks like an IP
            lead = _ADDRESS_LEAD.match(found) if kind == "Address" else None
            if lead and lead.end() < len(found):
                return found[: lead.end()] + self.token(kind, found[lead.end():])
            return self.token(kind, found)
        return replace

    def json_text(self, props: str | None) -> str | None:
        """Pseudonymise the string values (and keys) of a JSON properties object."""
        if not props:
            return props
        return json.dumps(self._walk(json.loads(props)), ensure_ascii=False)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        return value
