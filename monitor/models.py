"""The values that flow through the pipeline: Post -> Mention -> Assessment -> Alert -> Delivery.

All frozen: a stage never mutates what an earlier stage produced.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from functools import lru_cache
from operator import attrgetter
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

Sentiment = Literal["negative", "neutral", "positive"]
Category = Literal["outage", "complaint", "question", "praise", "other"]
Issue = Literal["billing", "account_access", "outage", "delivery", "staff_conduct", "product_quality",
                "security_fraud", "safety", "legal", "churn", "praise", "question", "news", "other"]
Severity = Literal["critical", "high", "medium", "low"]
MatchKind = Literal["exact", "alias", "variant", "inflection", "fuzzy", "source"]  # source: `about:`

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")
CATEGORIES: tuple[Category, ...] = ("outage", "complaint", "question", "praise", "other")
ISSUES: tuple[Issue, ...] = ("billing", "account_access", "outage", "delivery", "staff_conduct", "product_quality",
                             "security_fraud", "safety", "legal", "churn", "praise", "question", "news", "other")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # of each model class, for _jsonable


def _model(cls: type) -> type:
    """A pipeline value: pickled as a call of its class with its field values (posts go to the worker processes
    and alerts come back by the thousand each cycle, and the generic pickling of a slots dataclass, Python-level
    __getstate__ and __setstate__, takes twice as long); its field names recorded for _jsonable."""
    names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    values = attrgetter(*names)
    cls.__reduce__ = lambda self: (cls, values(self))  # type: ignore[attr-defined, method-assign]
    return cls


@_model
@dataclass(frozen=True, slots=True)
class Author:
    handle: str = ""
    display_name: str = ""
    followers: int | None = None


@_model
@dataclass(frozen=True, slots=True)
class Engagement:
    likes: int = 0
    reposts: int = 0
    replies: int = 0


@_model
@dataclass(frozen=True, slots=True)
class Post:
    source_id: str
    platform: str
    id: str
    url: str = ""
    title: str = ""
    text: str = ""
    author: Author = field(default_factory=Author)
    published_at: datetime | None = None
    engagement: Engagement = field(default_factory=Engagement)
    lang_hint: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def dedup_key(self) -> str:
        """The same post seen by two sources (or twice by one) has the same key."""
        return _dedup_key(self.url, self.platform, self.id)


@lru_cache(maxsize=4096)  # asked four times per post while a poll stores it; more than the polls in flight hold
def _dedup_key(url: str, platform: str, post_id: str) -> str:
    identity = canonical_url(url) if url else f"{platform}:{post_id}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def canonical_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme, host, path, parts.query, ""))


@_model
@dataclass(frozen=True, slots=True)
class Match:
    term: str
    kind: MatchKind
    score: float
    start: int
    end: int


@_model
@dataclass(frozen=True, slots=True)
class Mention:
    post: Post
    brand: str
    competitor: bool
    matches: tuple[Match, ...]


@_model
@dataclass(frozen=True, slots=True)
class Assessment:
    language: str
    sentiment: Sentiment
    sentiment_score: float
    category: Category
    severity: Severity
    reasons: tuple[str, ...] = ()
    issue: Issue = "other"
    urgent: bool = False       # a support team should look within the hour
    judged_by: str = "lexicon"  # "model <id>" or "lexicon" (the fallback)


@_model
@dataclass(frozen=True, slots=True)
class AuthorHistory:
    """What this author said about the brands before, on any source (same handle)."""
    mentions: int = 0
    complaints: int = 0

    def describe(self) -> str:
        if not self.mentions:
            return ""
        return f"{self.mentions} earlier mention(s), {self.complaints} of them complaint(s)"


@_model
@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    mention: Mention
    assessment: Assessment
    routes: tuple[str, ...]
    respond_by: datetime
    created_at: datetime
    reply: str = ""
    author_history: AuthorHistory = field(default_factory=AuthorHistory)
    thread: str = ""               # alerts sharing a thread (an incident's notices) are grouped where possible
    thread_parent: str = ""        # set at send time: this destination's id of the thread's first message
    escalation: str = ""           # set at send time for an escalation, e.g. "not acknowledged after 30m"
    ack_url: str = ""              # set at send time when acknowledge-links are configured

    @property
    def kind(self) -> str:
        """"incident" for an incident's notice (routing/incidents.py builds them), "mention" for the rest."""
        return "incident" if self.mention.post.platform == "incident" else "mention"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the outbox stores it so a restart can deliver without re-running the pipeline."""
        data = _jsonable(self)
        data["mention"]["post"].pop("raw")
        data.pop("thread_parent")
        data.pop("escalation")
        data.pop("ack_url")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        m, p = data["mention"], data["mention"]["post"]
        post = Post(
            **{k: v for k, v in p.items() if k not in ("author", "engagement", "published_at")},
            author=Author(**p["author"]),
            engagement=Engagement(**p["engagement"]),
            published_at=_parse_time(p["published_at"]),
        )
        mention = Mention(post=post, brand=m["brand"], competitor=m["competitor"],
                          matches=tuple(Match(**x) for x in m["matches"]))
        a = data["assessment"]
        assessment = Assessment(**{**a, "reasons": tuple(a["reasons"])})
        return cls(id=data["id"], mention=mention, assessment=assessment, routes=tuple(data["routes"]),
                   respond_by=_parse_time(data["respond_by"]), created_at=_parse_time(data["created_at"]),
                   reply=data["reply"], author_history=AuthorHistory(**data.get("author_history", {})),
                   thread=data.get("thread", ""))


@_model
@dataclass(frozen=True, slots=True)
class Send:
    """When an alert may first go to a destination (epoch seconds; 0 = at once), and its digest batch if any."""
    not_before: float = 0.0
    batch: str | None = None


@_model
@dataclass(frozen=True, slots=True)
class Delivery:
    """What a notifier reports after the destination accepted an alert."""
    notifier_id: str
    alert_id: str
    status_code: int | None = None
    remote_id: str | None = None


def short_id(alert_id: str) -> str:
    """What people read and type: "3f2a9c0d", "incident-3f2a9c0d"; `brand-monitor ack` takes any unique prefix."""
    if alert_id.startswith("incident-"):  # incident-<16 hex>-<members>
        return "incident-" + alert_id.split("-")[1][:8]
    return alert_id[:8]


def alert_id_for(brand: str, dedup_key: str) -> str:
    return hashlib.sha256(f"{brand}\0{dedup_key}".encode()).hexdigest()[:20]


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _jsonable(value: Any) -> Any:
    """Models as dicts, tuples as lists, datetimes in ISO 8601: what json.dumps takes. (dataclasses.asdict
    deep-copies every value on the way, a third of the cost of storing an alert.)"""
    if value is None or isinstance(value, (str, int, float)):  # most values: asked first
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is not None:
        return {name: _jsonable(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
