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


# Hostile config additions: each is valid YAML that used to take the loader down (a recursion error after minutes
# of parsing; tens of millions of values from a few aliases). `line` is where the loader must say it stopped.

def deeply_nested_mutes(depth: int = 20_000) -> str:
    return "mutes: " + "[" * depth + "]" * depth + "\n"


def alias_bomb_mutes(levels: int = 7) -> tuple[str, int]:
    """(text, line of the alias that brings the expanded values past 10,000): 10**levels values in `levels` lines."""
    lines = ["mutes:", "  - reason: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"  - reason: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n", 5  # aliases of a1 and a2 reach 1,100 values, the 9th alias of a3 10,100
