"""One redactor for everything the daemon stores, prints or logs.

It masks the secret values of the configuration, which the settings loader hands over as it reads them
(`remember`), and, whatever their source, credentials that ride in URLs, headers and API replies: webhook
paths, bot tokens, `?token=`/`sig=` values, `user:pass@`, Bearer tokens, Slack/Matrix/GitHub tokens.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_SECRET_LENGTH = 6  # a shorter configured value would mask ordinary words wherever they appear
_SECRET_PARAM = r"[\w-]*(?:token|key|secret|password|passwd)|sig|signature|auth"  # access_token, feed_token, x-api-key
_PATTERNS = [
    (re.compile(r"(hooks\.slack\.com/services/)[^\s\"'?#]+"), rf"\1{MASK}"),
    (re.compile(r"(/api/webhooks/\d+/)[^\s\"'?#/]+"), rf"\1{MASK}"),
    (re.compile(r"(\bbot)\d+:[\w-]+"), rf"\1{MASK}"),
    (re.compile(r"\b\d{5,}:[\w-]{30,}"), MASK),  # a Telegram bot token without its /bot prefix
    (re.compile(rf"([?&](?:{_SECRET_PARAM})=)[^&\s\"'#]+", re.I), rf"\1{MASK}"),
    (re.compile(r"(://[^/\s:@]+:)[^@/\s]+@"), rf"\1{MASK}@"),
    (re.compile(r"(Bearer\s+)[\w.~+/=-]+", re.I), rf"\1{MASK}"),
    (re.compile(r"\b(?:xox[abeoprs]|xapp)-[\w-]+|\bsyt_[\w-]+|\bgh[opsu]_\w+|\bgithub_pat_\w+"), MASK),
]
_known: list[str] = []  # configured secrets, longest first: one that contains another is masked whole


def remember(values: Iterable[str]) -> None:
    """Mask these values from now on. They are never forgotten: after a reload, errors and log lines may still
    carry a secret that the new configuration no longer has."""
    global _known
    fresh = {v for v in values if len(v) >= MIN_SECRET_LENGTH}.difference(_known)
    if fresh:
        _known = sorted(fresh.union(_known), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every configured secret and every credential-looking part masked."""
    for secret in _known:
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_all(value: Any) -> Any:
    """`redact` applied to every string inside nested dicts, lists and tuples (log events, status reports)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_all(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_all(v) for v in value)
    return value


def secrets_in(value: str, whole: bool) -> list[str]:
    """What to mask of a configured string: all of it if it is a secret (`whole`); of a URL, the user info and
    the values of query parameters named like credentials, and, of a secret URL, every path segment and query
    value that looks like a token (a service that echoes a webhook's path shows its token without the rest)."""
    found = [value] if whole else []
    try:
        parts = urlsplit(value)
    except ValueError:
        return found
    if not parts.netloc:
        return found
    found.append(parts.password or parts.username or "")
    for name, _, query_value in (p.partition("=") for p in parts.query.split("&")):
        if re.fullmatch(_SECRET_PARAM, name, re.I) or (whole and _token_like(query_value)):
            found.append(query_value)
    if whole:
        found += [segment for segment in parts.path.split("/") if _token_like(segment)]
    return found + [unquote(part) for part in found]


def _token_like(segment: str) -> bool:
    return len(segment) >= 20 or (len(segment) >= 8 and any(c.isdigit() for c in segment)
                                  and any(c.isalpha() for c in segment))
