"""Helpers shared by the source plugins: JSON cursors, HTML to text, timestamps, overlap watermarks, and
logging of per-target failures (one of several channels/apps/instances) on state change."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any

import structlog

from ..errors import ExternalError, PermanentError, RateLimitedError
from ..models import Post
from .base import FetchResult

MAX_TEXT = 20_000
MAX_SEEN_IDS = 300
log = structlog.get_logger()


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None (error pages are often HTML or empty)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise PermanentError(f"{what}: response is not JSON") from exc


def load_cursor(cursor: str | None) -> dict[str, Any]:
    """A JSON object cursor; an unreadable one (older format, hand-edited) counts as none."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return {}
    return as_dict(value)


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON value that should be an object; anything else (a hostile or changed API) counts as an empty one."""
    return value if isinstance(value, dict) else {}


def iso_utc(ts: float) -> str:
    """Epoch seconds as the whole-second RFC 3339 time that APIs take in queries (2026-12-05T04:22:52Z)."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dump_cursor(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _TextExtractor(HTMLParser):
    """HTML -> text: drops tags and script/style bodies, unescapes entities, breaks lines at block elements."""
    _BLOCKS = {"p", "br", "div", "li", "ul", "ol", "tr", "table", "blockquote", "pre", "hr", "section",
               "article", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "figcaption"}
    _SKIP = {"script", "style", "template", "noscript", "head"}

    def __init__(self, limit: int):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCKS:
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._add(data)

    def _add(self, text: str) -> None:
        if self.size < self.limit:
            self.parts.append(text[: self.limit - self.size])
            self.size += len(self.parts[-1])


def html_to_text(markup: str | None, limit: int = MAX_TEXT) -> str:
    """Plain text of HTML: tags dropped, entities decoded, one line per block, whitespace collapsed, capped."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:  # plain text, as many feeds' descriptions are: nothing to parse
        return collapse_lines(markup[:limit])[:limit]
    parser = _TextExtractor(limit)
    parser.feed(markup[: limit * 20])  # markup is longer than its text; this bounds the work, not the output
    parser.close()
    return collapse_lines("".join(parser.parts))[:limit]


def collapse_lines(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def log_backlog_skipped(source_id: str, query: str, pages: int) -> None:
    """More new items than `max_pages` pages hold: the oldest of them are skipped (poll more often to avoid it)."""
    log.warning("source_backlog_skipped", source_id=source_id, query=query, pages=pages)


def from_epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


@dataclass(frozen=True)
class Watermark:
    """A source's place in a newest-first listing: the newest timestamp seen, and the ids seen from `overlap`
    seconds before it up to it (with overlap 0, the ids at that very second).

    A poll asks for items at or after `since(overlap)`, the boundary included (another item can share the newest
    second and show up later), and drops the ids already seen. Search indexes lag, so an item may show up after
    a newer one: `overlap` looks that far back. `floor` is where the first poll started: nothing older is ever
    fetched, so the first poll does not backfill history. At most MAX_SEEN_IDS ids are kept, the newest; the
    store's dedup remains the last line of defence."""
    t: float
    seen: dict[str, float] = field(default_factory=dict)
    floor: float = 0.0

    @classmethod
    def first(cls, since: float, stamps: list[float], page_full: bool) -> Watermark:
        """The mark before the first poll's items are applied: a full page means older items were left out."""
        return cls(since, floor=min(stamps) if page_full and stamps else since)

    @classmethod
    def at(cls, t: float, ids: Iterable[Any]) -> Watermark:
        return cls(t, {str(i): t for i in ids})

    @classmethod
    def load(cls, value: Any) -> Watermark | None:
        """A mark as `dump` wrote it, or as {newest: seconds or RFC 3339 time, ids: [ids at newest]} (the
        google_play and youtube_comments marks before this class); None for anything else."""
        if not isinstance(value, dict):
            return None
        if isinstance(value.get("ids"), list):
            newest = _seconds(value.get("newest"))
            return None if newest is None else cls.at(newest, value["ids"])
        if not isinstance(value.get("t"), (int, float)):
            return None
        seen: dict[Any, Any] = value["seen"] if isinstance(value.get("seen"), dict) else {}
        floor = value["floor"] if isinstance(value.get("floor"), (int, float)) else 0.0
        return cls(value["t"], {str(k): v for k, v in seen.items() if isinstance(v, (int, float))}, floor)

    def dump(self) -> dict[str, Any]:
        return {"t": self.t, "seen": self.seen, "floor": self.floor}

    def since(self, overlap: float = 0.0) -> float:
        return max(self.t - overlap, self.floor)

    def is_new(self, item_id: str, ts: float, overlap: float = 0.0) -> bool:
        return item_id not in self.seen and ts >= self.since(overlap)

    def advanced(self, items: Iterable[tuple[str, float]], overlap: float = 0.0) -> Watermark:
        seen = dict(self.seen)
        seen.update(items)
        t = max([self.t, *seen.values()])
        recent = sorted(((ts, i) for i, ts in seen.items() if ts >= t - overlap), reverse=True)[:MAX_SEEN_IDS]
        return Watermark(t, {i: ts for ts, i in recent}, self.floor)


def _seconds(value: Any) -> float | None:
    """Epoch seconds, given as a number or as an RFC 3339 time."""
    if isinstance(value, str):
        parsed = from_iso(value)
        return parsed.timestamp() if parsed else None
    return value if isinstance(value, (int, float)) else None


class FailingTargets:
    """Logs a target's (channel's, app's, instance's) failure when it starts and its recovery when it ends."""

    def __init__(self, source_id: str, what: str):
        self.source_id, self.what, self.failing = source_id, what, set[str]()

    def note_failure(self, target: str, exc: ExternalError) -> None:
        if target not in self.failing:
            self.failing.add(target)
            log.warning("source_target_failed", source_id=self.source_id, **{self.what: target},
                        error=str(exc), error_kind=type(exc).__name__)

    def note_success(self, target: str) -> None:
        if target in self.failing:
            self.failing.discard(target)
            log.info("source_target_recovered", source_id=self.source_id, **{self.what: target})


PollOne = Callable[[int | None], Awaitable[tuple[list[Post], int | None]]]


async def poll_each(polls: Mapping[str, PollOne], cursor: str | None, failing: FailingTargets) -> FetchResult:
    """Poll several targets (channels, storefront/app pairs) of one source, each with its own integer cursor.
    One that fails keeps its cursor and does not hold back the others; a 429 stops the whole poll (limits are
    per client address); the source fails only when every target failed."""
    cursors = _int_cursors(cursor)
    posts: list[Post] = []
    new_cursors: dict[str, int] = {}
    errors: list[ExternalError] = []
    for key, poll in polls.items():
        try:
            found, newest = await poll(cursors.get(key))
        except RateLimitedError:
            raise
        except ExternalError as exc:
            failing.note_failure(key, exc)
            errors.append(exc)
            found, newest = [], cursors.get(key)
        else:
            failing.note_success(key)
        posts += found
        if newest is not None:
            new_cursors[key] = newest
    if errors and len(errors) == len(polls):
        raise errors[0]
    return FetchResult(posts=posts, cursor=json.dumps(new_cursors, sort_keys=True))


def _int_cursors(cursor: str | None) -> dict[str, int]:
    try:
        data: Any = json.loads(cursor) if cursor else {}
        return {str(k): int(v) for k, v in data.items()}
    except (ValueError, TypeError, AttributeError):
        return {}  # an unreadable cursor means starting again from each target's newest page
