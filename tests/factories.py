"""Builders for pipeline values used across tests."""
from datetime import datetime, timedelta, timezone

from monitor.models import Alert, Assessment, Author, Match, Mention, Post, alert_id_for

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def make_post(n: int = 1, source_id: str = "feed", text: str = "Acme is down again") -> Post:
    return Post(source_id=source_id, platform="rss", id=str(n), url=f"https://example.com/p/{n}", title="",
                text=text, author=Author(handle=f"user{n}"), published_at=NOW)


def make_alert(post: Post, brand: str = "Acme", severity: str = "high") -> Alert:
    mention = Mention(post=post, brand=brand, competitor=False, matches=(Match("acme", "exact", 100.0, 0, 4),))
    assessment = Assessment(language="en", sentiment="negative", sentiment_score=-0.6, category="outage",
                            severity=severity, reasons=("category outage",))
    return Alert(id=alert_id_for(brand, post.dedup_key), mention=mention, assessment=assessment,
                 routes=("urgent",), respond_by=NOW + timedelta(hours=1), created_at=NOW, reply="Sorry!")
