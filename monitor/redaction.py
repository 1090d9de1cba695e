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
_PATTERNS = [re.compile(p, re.I) for p in (  # the group `s` is what gets masked
    r"hooks\.slack\.com/services/(?P<s>[^\s\"'?#]+)",
    r"/api/webhooks/\d+/(?P<s>[^\s\"'?#/]+)",
    r"\bbot(?P<s>\d+:[\w-]+)",
    r"\b(?P<s>\d{5,}:[\w-]{30,})",  # a Telegram bot token without its /bot prefix
    rf"[?&](?:{_SECRET_PARAM})=(?P<s>[^&\s\"'#]+)",
    r"://[^/\s:@]+:(?P<s>[^@/\s]+)@",
    r"\bBearer\s+(?P<s>[\w.~+/=-]+)",
    r"\b(?P<s>(?:xox[abeoprs]|xapp)-[\w-]+|syt_[\w-]+|gh[opsu]_\w+|github_pat_\w+)",
)]
_known: dict[str, re.Pattern[str]] = {}  # configured secret -> where it occurs


def remember(values: Iterable[str]) -> None:
    """Mask these values from now on. They are never forgotten: after a reload, errors and log lines may still
    carry a secret that the new configuration no longer has."""
    for value in values:
        if len(value) >= MIN_SECRET_LENGTH and value not in _known:
            _known[value] = re.compile(re.escape(value))


def redact(text: str) -> str:
    """`text` with every configured secret and every credential-looking part masked. What to mask is found in
    the original text and overlapping finds are masked as one, so that masking one secret never breaks the
    shape by which another is recognised."""
    spans = sorted([m.span("s") for pattern in _PATTERNS for m in pattern.finditer(text)]
                   + [m.span() for pattern in list(_known.values()) for m in pattern.finditer(text)])
    parts, done = [], 0
    for start, end in spans:
        if start >= done:
            parts += [text[done:start], MASK]
        done = max(done, end)
    return "".join(parts) + text[done:]


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
    if "//" not in value:  # no URL authority, so no user info: the common case of a name or a path
        return found
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
