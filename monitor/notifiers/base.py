"""The notifier contract: `await notifier.send(alert, idempotency_key) -> Delivery`.

A notifier formats and sends one alert. It raises TransientError / RateLimitedError / PermanentError /
AuthFailedError (monitor.errors); it never returns a bare bool and never retries by itself: the delivery
worker owns retries, rate limits, dead letters and fallbacks. Messages of raised errors are logged: they
must not contain secrets (use monitor.http.redact on anything that holds a URL).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

from ..models import Alert, Assessment, Author, Delivery, Engagement, Match, Mention, Post


class Notifier(Protocol):
    async def send(self, alert: Alert, idempotency_key: str) -> Delivery: ...


def sample_alert(brand: str = "Acme", now: datetime | None = None) -> Alert:
    """The alert `brand-monitor test-notify` sends: realistic, and hostile enough to prove the escaping."""
    now = now or datetime.now(timezone.utc)
    text = (f"Third time this week the {brand} app won't log me in <!channel> @everyone & still no answer "
            "from support. Fix it!")
    post = Post(source_id="test-notify", platform="test", id="sample-1", url="https://example.com/posts/1",
                title=f"{brand} login broken again", text=text,
                author=Author(handle="jane_doe", display_name="Jane Doe", followers=1520),
                published_at=now - timedelta(minutes=3), engagement=Engagement(likes=12, reposts=3, replies=4))
    start = text.index(brand)
    mention = Mention(post=post, brand=brand, competitor=False,
                      matches=(Match(term=brand, kind="exact", score=100.0, start=start, end=start + len(brand)),))
    assessment = Assessment(language="en", sentiment="negative", sentiment_score=-0.8, category="outage",
                            severity="high", reasons=("category outage", "negative sentiment", "test alert"))
    return Alert(id="test-notify-sample", mention=mention, assessment=assessment, routes=("test-notify",),
                 respond_by=now + timedelta(hours=1), created_at=now,
                 reply="Hi Jane, thank you for telling us and sorry for the trouble. We're looking into the "
                       "login problem now; could you send us a direct message so we can follow up?")
