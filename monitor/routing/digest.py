"""Digests: low-priority alerts collected and sent as one message on a schedule ("hourly", "daily 09:00 TZ")."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..models import Alert, Assessment, Author, Mention, Post, utc

_SCHEDULE = re.compile(r"^(hourly|daily(?: (\d{1,2}):(\d{2}))?(?: (\S+))?)$")
DIGEST_LINES = 50


def parse_schedule(text: str) -> str:
    """Validate 'hourly' / 'daily' / 'daily 09:00' / 'daily 09:00 Atlantic/Reykjavik'; return it normalised."""
    m = _SCHEDULE.match(" ".join(str(text).split()))
    if not m:
        raise ValueError(f"expected 'hourly' or 'daily HH:MM [Area/City]', got {text!r}")
    if m.group(1) != "hourly":
        hour, minute = int(m.group(2) or 9), int(m.group(3) or 0)
        if hour > 23 or minute > 59:
            raise ValueError(f"no such time of day: {hour:02d}:{minute:02d}")
        try:
            ZoneInfo(m.group(4) or "UTC")
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone '{m.group(4)}'") from None
    return m.group(1)


def next_digest(now: datetime, schedule: str) -> datetime:
    """The first send time of `schedule` strictly after `now`."""
    if schedule == "hourly":
        return (now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
    parts = schedule.split()
    at = time.fromisoformat(parts[1]) if len(parts) > 1 else time(9, 0)
    local = now.astimezone(ZoneInfo(parts[2] if len(parts) > 2 else "UTC"))
    candidate = datetime.combine(local.date(), at, tzinfo=local.tzinfo)
    return candidate if candidate > local else datetime.combine(local.date() + timedelta(days=1), at,
                                                                tzinfo=local.tzinfo)


def digest_alert(alerts: list[Alert], now: datetime) -> Alert:
    """Many alerts as one, so every notifier can send a digest with its usual (escaped, capped) layout."""
    brands = sorted({a.mention.brand for a in alerts})
    counts = Counter(a.assessment.category for a in alerts)
    summary = ", ".join(f"{n} {category}" for category, n in counts.most_common())
    lines = [_line(a) for a in alerts[:DIGEST_LINES]]
    if len(alerts) > DIGEST_LINES:
        lines.append(f"… and {len(alerts) - DIGEST_LINES} more (brand-monitor status shows them all)")
    post = Post(source_id="digest", platform="digest", id=f"digest-{alerts[0].id}",
                title=f"Digest: {len(alerts)} mention(s) of {', '.join(brands)} ({summary})",
                text="\n".join(lines), author=Author(), published_at=now)
    mention = Mention(post=post, brand=", ".join(brands), competitor=all(a.mention.competitor for a in alerts),
                      matches=())
    assessment = Assessment(language="other", sentiment="neutral", sentiment_score=0.0, category="other",
                            severity="low", reasons=(f"digest of {len(alerts)} alerts",))
    return Alert(id=f"digest-{alerts[0].id}", mention=mention, assessment=assessment,
                 routes=tuple(sorted({r for a in alerts for r in a.routes})),
                 respond_by=min(a.respond_by for a in alerts), created_at=now)


def _line(alert: Alert) -> str:
    post = alert.mention.post
    what = post.title or post.text
    what = " ".join(what.split())[:140]
    when = utc(post.published_at).strftime("%H:%M") if post.published_at else ""
    return (f"• [{alert.assessment.severity}/{alert.assessment.category}] {alert.mention.brand}: "
            f"{what} {post.url} {when}").rstrip()
