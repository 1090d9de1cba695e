"""What every alert format shares: cleaning and trimming hostile text, per-format escaping, and a neutral view.

A notifier builds its payload from `view(alert)` (plain, cleaned, trimmed strings) and escapes each untrusted
piece with the escape function for its format. Nothing here does I/O.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, urlsplit

from ..models import Alert, Assessment, Severity, short_id, utc

ELLIPSIS = "…"
WJ = "\u2060"  # word joiner: invisible, but splits `@here` / `<users/all>` so no parser sees a mention token

SEVERITY_EMOJI: dict[str, str] = {"critical": "🚨", "high": "🔴", "medium": "🟠", "low": "🔵"}
SEVERITY_COLOUR: dict[str, int] = {"critical": 0x8B0000, "high": 0xE01E5A, "medium": 0xECB22E, "low": 0x2E86DE}
SENTIMENT_EMOJI: dict[str, str] = {"negative": "😠", "neutral": "😐", "positive": "🙂"}

# C0/C1 control characters except \t and \n: terminal escapes, NULs and the like have no place in an alert;
# nor bidi embeddings, overrides and isolates, which make "gnp.exe" render as "exe.png".
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~|>\[\]()#:!<-])")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"
MAX_URL = 2000
BUDGETS = ((3000, 1000), (1500, 600), (500, 300), (100, 100))  # (excerpt, reply) characters, largest first
T = TypeVar("T")


# --- cleaning and trimming -------------------------------------------------------------------------------------

def clean(text: str | None) -> str:
    """Untrusted text made safe to embed anywhere: no control characters, \\n line ends, no runs of blank lines."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _MANY_BLANK_LINES.sub("\n\n", _CONTROL.sub("", text)).strip()


def trim(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with an ellipsis when cut. Never rejects."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def trim_escaped(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """`escape(text)` within `limit` characters: trims the raw text (so no entity is cut in half) until it fits."""
    budget = limit
    while budget > 0:
        out = escape(trim(text, budget))
        if len(out) <= limit:
            return out
        budget -= len(out) - limit
    return ""


def one_line(text: str, limit: int) -> str:
    """Whitespace collapsed to single spaces, trimmed: for titles and headers."""
    return trim(" ".join(text.split()), limit)


def safe_url(url: str | None) -> str:
    """An http(s) URL with unsafe characters percent-encoded, or "" (never a javascript: or data: link)."""
    url = clean(url)
    if not url or len(url) > MAX_URL or any(ch.isspace() for ch in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url, safe=_URL_SAFE)


# --- per-format escaping of untrusted text ---------------------------------------------------------------------

def break_mentions(text: str) -> str:
    """`@here` -> `@⁠here`, `<users/all>` -> `<⁠users/all>`: reads the same, parses as nothing."""
    return text.replace("@", "@" + WJ).replace("<", "<" + WJ)


def escape_slack(text: str) -> str:
    """Slack mrkdwn/text: `<…>` sequences ping or link, and escaping `& < >` disarms all of them.

    `@here` only pings with link_names (never set), but breaking it costs nothing and survives a setting change.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("@", "@" + WJ)


def escape_markdown(text: str) -> str:
    """CommonMark-ish (Discord, Mattermost): backslash-escape emphasis, links, images, quotes, headings, emoji."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def escape_discord(text: str) -> str:
    """Markdown escaped and mentions broken (allowed_mentions already stops pings; this also stops highlights)."""
    return escape_markdown(text).replace("@", "@" + WJ)


def escape_mattermost(text: str) -> str:
    """Mattermost notifies on plain `@channel`/`@all`/`@here` and on Slack-style `<!channel>`: break both."""
    return break_mentions(escape_markdown(text))


def escape_telegram_html(text: str) -> str:
    """Telegram parse_mode=HTML: an unescaped `<` or `&` makes it reject the whole message; `@user` would notify.

    Quotes stay as they are: Telegram knows only a few named entities, and untrusted text never goes in attributes.
    """
    return html.escape(text, quote=False).replace("@", "@" + WJ)


def escape_google_chat(text: str) -> str:
    """Google Chat turns `<users/all>` and `<url|label>` into mentions and links."""
    return text.replace("<", "<" + WJ)


# --- the neutral view every format builds on -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as cleaned, trimmed plain strings. Still untrusted: escape before embedding in markup."""
    severity: Severity
    emoji: str
    colour: int
    heading: str        # "High · Acme · outage"
    title: str          # the post's title (may be "")
    excerpt: str        # the post's text, trimmed
    author: str         # "Jane Doe (@jane_doe) · 1,520 followers"
    history: str        # "3 earlier mention(s), 2 of them complaint(s)" or ""
    where: str          # "reddit · 12 likes · 3 reposts · 4 replies"
    sentiment: str      # "😠 negative (-0.80)"
    category: str
    issue: str          # "billing · urgent (look within the hour) · judged by model 2ab9…"
    language: str
    matched: str        # '"Acme" exact 100'
    reasons: str        # "category outage; negative sentiment"
    url: str            # safe http(s) URL or ""
    respond_by: str     # "2026-11-25 11:42 UTC"
    ack_url: str        # signed acknowledge link, or ""
    short_id: str       # "3f2a9c0d" (models.short_id): `brand-monitor ack` takes it; "" for digests
    reply: str          # the drafted first reply (may be "")
    competitor: bool
    summary: bool = False  # an incident or a digest: many posts, so no single author, tone or language

    def facts(self) -> list[tuple[str, str]]:
        """Label/value pairs in display order; labels are ours, values are untrusted."""
        severity = ("Severity", f"{self.emoji} {self.severity}")
        if self.summary:
            pairs = [severity, ("Category", self.category), ("Respond by", self.respond_by),
                     ("Why", self.reasons), ("Acknowledge", self.ack_url), ("Alert id", self.short_id)]
        else:
            pairs = [severity, ("Issue", self.issue), ("Sentiment", self.sentiment), ("Category", self.category),
                     ("Language", self.language), ("Author", self.author), ("History", self.history),
                     ("Where", self.where), ("Respond by", self.respond_by), ("Why", self.why),
                     ("Acknowledge", self.ack_url), ("Alert id", self.short_id)]
        return [(label, value) for label, value in pairs if value]

    @property
    def reply_label(self) -> str:
        return "Drafted status update" if self.summary else "Drafted reply"

    @property
    def why(self) -> str:
        return "; ".join(part for part in (f"matched {self.matched}" if self.matched else "", self.reasons) if part)


def view(alert: Alert, *, excerpt_limit: int = 1500, reply_limit: int = 1000, title_limit: int = 200) -> AlertView:
    mention, a, post = alert.mention, alert.assessment, alert.mention.post
    brand = clean(mention.brand) + (" (competitor)" if mention.competitor else "")
    summary = post.platform in ("incident", "digest")
    what = a.category if summary else a.issue.replace("_", " ")
    return AlertView(
        severity=a.severity,
        emoji=SEVERITY_EMOJI.get(a.severity, "⚪"), colour=SEVERITY_COLOUR.get(a.severity, 0x808080),
        heading=one_line(("⏰ ESCALATED, " + alert.escalation + " · " if alert.escalation else "")
                         + f"{a.severity.capitalize()} · {brand} · {what}" + (" · urgent" if a.urgent else ""), 200),
        title=one_line(clean(post.title), title_limit),
        excerpt=trim(clean(post.text), excerpt_limit),
        author=_author(alert), history=alert.author_history.describe(), where=_where(alert),
        sentiment=f"{SENTIMENT_EMOJI.get(a.sentiment, '')} {a.sentiment} ({a.sentiment_score:+.2f})".strip(),
        category=a.category, issue=_issue(a), language=one_line(clean(a.language), 20),
        matched=one_line(", ".join(dict.fromkeys(f'"{clean(m.term)}" {m.kind} {m.score:g}'
                                                 for m in mention.matches[:5])), 300),
        reasons=one_line("; ".join(clean(r) for r in a.reasons), 400),
        url=safe_url(post.url), respond_by=_time(alert.respond_by), ack_url=safe_url(alert.ack_url),
        reply=trim(clean(alert.reply), reply_limit), competitor=mention.competitor,
        short_id="" if post.platform == "digest" else short_id(alert.id),
        summary=summary,
    )


def _issue(a: Assessment) -> str:
    urgency = " · urgent (look within the hour)" if a.urgent else ""
    return f"{a.issue.replace('_', ' ')}{urgency} · judged by {a.judged_by}"


def fit(alert: Alert, render: Callable[[AlertView], T], size: Callable[[T], int], limit: int,
        budgets: tuple[tuple[int, int], ...] = BUDGETS) -> T:
    """`render(view(alert))` with the largest excerpt/reply budget whose `size` is within `limit`.

    The last budget is small enough that every bounded field of the view fits any target's limit.
    """
    rendered = None
    for excerpt_limit, reply_limit in budgets:
        rendered = render(view(alert, excerpt_limit=excerpt_limit, reply_limit=reply_limit))
        if size(rendered) <= limit:
            break
    assert rendered is not None
    return rendered


def plain_text(v: AlertView) -> str:
    """The alert as readable plain text (no markup): the base of console, ntfy and fallback texts."""
    lines = [f"{v.emoji} {v.heading}"]
    if v.title:
        lines.append(v.title)
    if v.excerpt:
        lines += ["", v.excerpt, ""]
    lines += [f"{label}: {value}" for label, value in v.facts() if label != "Severity"]
    if v.url:
        lines.append(f"Link: {v.url}")
    if v.reply:
        lines += ["", f"{v.reply_label}:", v.reply]
    return "\n".join(lines)


def _author(alert: Alert) -> str:
    author = alert.mention.post.author
    name, handle = one_line(clean(author.display_name), 80), one_line(clean(author.handle), 80)
    who = f"{name} (@{handle})" if name and handle and name != handle else name or (f"@{handle}" if handle else "")
    if author.followers is not None:
        who = f"{who} · {author.followers:,} followers" if who else f"{author.followers:,} followers"
    return who


def _where(alert: Alert) -> str:
    post = alert.mention.post
    e = post.engagement
    counts = [f"{n:,} {label}"
              for n, label in ((e.likes, "likes"), (e.reposts, "reposts"), (e.replies, "replies")) if n]
    return " · ".join([one_line(clean(post.platform), 40), *counts])


def _time(when: datetime | None) -> str:
    return utc(when).strftime("%Y-%m-%d %H:%M UTC") if when else ""
