"""Generic RSS 0.9x/1.0/2.0, Atom and JSON Feed source: conditional GET, capped body, feedparser, Post mapping.

The feed presets in `feeds.py` (Google News, Google Alerts, YouTube, Reddit RSS) build a URL and reuse
`FeedSource` unchanged.
"""
from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
import structlog
from pydantic import AfterValidator

from .. import registry
from ..errors import PermanentError
from ..http import get_capped, redact
from ..models import Author, Engagement, Post
from ..settings import SourceConfig
from ..workers import offload
from .base import FetchResult, SourceState
from .common import MAX_TEXT, collapse_lines, html_to_text

log = structlog.get_logger()

MAX_TITLE = 1_000
MAX_ID = 500
MAX_URL = 2_000
MAX_ENTRIES = 2_000
MAX_POLL_HINT = 24 * 3600.0  # a hostile or mistaken TTL must not silence a source for longer than a day
_SAFE_SCHEMES = ("http", "https")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")


def check_http_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in _SAFE_SCHEMES or not parts.netloc:
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value


HttpUrlStr = Annotated[str, AfterValidator(check_http_url)]


class RssConfig(SourceConfig):
    type: Literal["rss"]
    url: HttpUrlStr
    headers: dict[str, str] = {}  # e.g. a User-Agent some servers insist on; never logged


# --------------------------------------------------------------------------------------------- fetching

@dataclass
class FeedSource:
    """Polls one feed URL. `refine` lets a preset adjust each Post (unwrap redirect links, tidy author names)."""
    source_id: str
    url: str
    http: httpx.AsyncClient
    timeout: float
    max_bytes: int
    headers: Mapping[str, str] = field(default_factory=dict)
    platform: str = "rss"
    refine: Callable[[Post], Post] | None = None
    clock: Callable[[], float] = time.time

    async def fetch(self, state: SourceState) -> FetchResult:
        response, body = await self._get(state)
        hint = poll_hint(response.headers, self.clock())
        if response.status_code == 304:
            return FetchResult(cursor=state.cursor, etag=response.headers.get("ETag") or state.etag,
                               last_modified=response.headers.get("Last-Modified") or state.last_modified,
                               not_modified=True, min_next_poll=hint)
        headers = {name.lower(): value for name, value in response.headers.items()}  # plain and picklable
        feed, posts = await offload(parse_posts, body, headers, str(response.url), self.source_id, self.platform,
                                    self.refine)
        log.debug("feed_parsed", source_id=self.source_id, posts=len(posts), version=feed.version, bozo=feed.bozo)
        if feed.bad_bytes:
            log.warning("feed_bad_bytes", source_id=self.source_id, charset=feed.charset, replaced=feed.bad_bytes)
        return FetchResult(posts=posts, cursor=state.cursor, etag=response.headers.get("ETag"),
                           last_modified=response.headers.get("Last-Modified"),
                           min_next_poll=_max_hint(hint, feed.ttl_seconds))

    async def _get(self, state: SourceState) -> tuple[httpx.Response, bytes]:
        headers = dict(self.headers)
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        return await get_capped(self.http, self.url, headers=headers, max_bytes=self.max_bytes, timeout=self.timeout)


def poll_hint(headers: httpx.Headers, now: float) -> float | None:
    """Seconds the server asked us to wait before asking again: Cache-Control max-age, else Expires."""
    cache_control = headers.get("Cache-Control", "").lower()
    if "no-cache" in cache_control or "no-store" in cache_control:
        return None
    match = re.search(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", cache_control)
    if match:
        return _clamp(float(match.group(1)))
    expires = _http_date(headers.get("Expires"))
    if expires is None:
        return None
    reference = _http_date(headers.get("Date"))  # the server's own clock avoids skew between the two hosts
    return _clamp(expires - (reference if reference is not None else now))


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _clamp(seconds: float) -> float | None:
    return min(seconds, MAX_POLL_HINT) if seconds > 0 else None


def _max_hint(*hints: float | None) -> float | None:
    found = [h for h in hints if h]
    return max(found) if found else None


# --------------------------------------------------------------------------------------------- parsing

@dataclass
class Entry:
    """One feed item, independent of the feed format it came from."""
    id: str = ""
    link: str = ""
    title: str = ""
    title_html: bool = False
    bodies: list[tuple[str, bool]] = field(default_factory=list)  # (value, is_html)
    author: str = ""
    published: datetime | None = None
    lang: str | None = None
    likes: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedFeed:
    entries: list[Entry]
    title: str = ""
    version: str = ""
    bozo: bool = False
    ttl_seconds: float | None = None
    charset: str = "utf-8"
    bad_bytes: int = 0  # undecodable bytes replaced with U+FFFD
    base: str = ""  # what relative entry links are relative to: the feed's URL or its Content-Location


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse feed bytes; raise PermanentError when they are not a usable feed (HTML page, garbage, empty)."""
    if not body.strip():
        raise PermanentError(f"{redact(url)}: empty response, not a feed")
    content_type = headers.get("content-type", "")
    base = urljoin(url, headers.get("content-location", "")) or url
    charset, text, bad_bytes = decode_feed(body, content_type)
    utf8 = _XML_ENCODING.sub(r"\g<1>utf-8", text, count=1).encode("utf-8")
    if "json" in content_type or body.lstrip()[:1] == b"{":
        feed = _parse_json_feed(utf8)
        if feed is not None:
            return replace(feed, charset=charset, bad_bytes=bad_bytes, base=base)
    try:
        # html_to_text takes the text out of entry HTML: feedparser's sanitizing and link rewriting of it is wasted
        result = feedparser.parse(io.BytesIO(utf8), response_headers=_parser_headers(headers),
                                  sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser on hostile bytes: any failure means "not a feed", never a crash
        raise PermanentError(f"{redact(url)}: feed parser failed: {type(exc).__name__}") from None
    feed = _from_feedparser(result)
    if not feed.entries and (not feed.version or (feed.bozo and not feed.title)):
        raise PermanentError(f"{redact(url)}: {_not_a_feed_reason(result, body, content_type)}")
    return replace(feed, charset=charset, bad_bytes=bad_bytes, base=base)


_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*["'])([^"']*)""")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_feed(body: bytes, content_type: str) -> tuple[str, str, int]:
    """(charset, text, bytes replaced): the charset the document or server declares, replacing only the bytes it
    cannot decode, so that one stray byte does not turn a whole UTF-8 feed into mojibake and hide its non-Latin
    mentions. With nothing declared: UTF-8 (XML's default), or the detected charset when the bytes are plainly not
    UTF-8."""
    declared = _declared_charset(body, content_type)
    charset = declared or "utf-8"
    text, bad = _decode(body, charset)
    if declared is None and bad and bad * 10 > sum(byte > 0x7F for byte in body):
        import charset_normalizer  # noqa: PLC0415 - rarely needed, and a fifth of the feed module's import time
        best = charset_normalizer.from_bytes(body).best()
        if best is not None:
            charset = codecs.lookup(best.encoding).name
            text, bad = _decode(body, charset)
    return charset, text, bad


def _declared_charset(body: bytes, content_type: str) -> str | None:
    """BOM, then the HTTP header, then the XML declaration; a name Python does not know counts as undeclared."""
    candidates = [name for bom, name in _BOMS if body.startswith(bom)]
    candidates.append(_header_charset(content_type))
    match = _XML_ENCODING.match(body[:300].decode("latin-1"))
    candidates.append(match.group(2) if match else None)
    for name in filter(None, candidates):
        try:
            return codecs.lookup(name).name
        except LookupError:
            continue
    return None


def _header_charset(content_type: str) -> str | None:
    match = re.search(r";\s*charset\s*=\s*\"?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def _decode(body: bytes, charset: str) -> tuple[str, int]:
    try:
        return body.decode(charset), 0  # the usual case: one pass
    except UnicodeDecodeError:
        text = body.decode(charset, errors="replace")
        return text, text.count("\ufffd") - body.decode(charset, errors="ignore").count("\ufffd")


def _parser_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # feedparser picks the charset from content-type (the body is UTF-8 by now: the media type is kept and the
    # charset says so). No content-location: given one, feedparser joins every link-like value with it, a fifth
    # of its parsing time; entry_post resolves the one link a post keeps.
    media_type = headers.get("content-type", "").split(";", 1)[0].strip() or "application/xml"
    out = {"content-type": f"{media_type}; charset=utf-8"}
    if headers.get("content-language"):
        out["content-language"] = headers["content-language"]
    return out


def _not_a_feed_reason(result: Any, body: bytes, content_type: str) -> str:
    head = body.lstrip()[:200].lower()
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return f"got an HTML page ({content_type or 'no content-type'}), not a feed; check the URL"
    problem = result.get("bozo_exception")
    detail = f": {type(problem).__name__}: {str(problem)[:200]}" if problem else ""
    return f"not an RSS/Atom/JSON feed{detail}"


def _from_feedparser(result: Any) -> ParsedFeed:
    info = result.get("feed", {})
    feed_lang = _lang(info.get("language"))
    entries = [_entry_from_feedparser(e, feed_lang) for e in result.get("entries", [])[:MAX_ENTRIES]]
    title_html = _is_html((info.get("title_detail") or {}).get("type"))
    return ParsedFeed(entries=entries, title=_plain(info.get("title", ""), title_html, MAX_TITLE),
                      version=result.get("version") or "", bozo=bool(result.get("bozo")),
                      ttl_seconds=_ttl(info.get("ttl")))


def _entry_from_feedparser(e: Mapping[str, Any], feed_lang: str | None) -> Entry:
    e = dict(e)  # FeedParserDict.get runs Python code for its key aliases, of which none is read here
    details = [*e.get("content", []), e.get("summary_detail") or {}]
    bodies = [(d.get("value", ""), _is_html(d.get("type"))) for d in details if d.get("value")]
    if not bodies and e.get("summary"):
        bodies = [(e["summary"], True)]
    title_detail = e.get("title_detail") or {}
    author = (e.get("author_detail") or {}).get("name") or e.get("author") or ""
    langs = [d.get("language") for d in (*details, title_detail)]
    return Entry(
        id=str(e.get("id") or ""), link=str(e.get("link") or ""), title=str(e.get("title") or ""),
        title_html=_is_html(title_detail.get("type")), bodies=bodies, author=str(author),
        published=_entry_time(e),
        lang=next((lang for lang in map(_lang, langs) if lang), feed_lang),
        likes=_int((e.get("media_starrating") or {}).get("count")),
        raw=_raw_extras(e),
    )


def _entry_time(e: Mapping[str, Any]) -> datetime | None:
    # plain dict.get: FeedParserDict.get maps published->updated itself, with a DeprecationWarning
    keys = ("published_parsed", "updated_parsed", "created_parsed")
    return _struct_time(next((dict.get(e, k) for k in keys if dict.get(e, k)), None))


def _raw_extras(e: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    tags = [str(t.get("term", ""))[:100] for t in e.get("tags", [])[:10] if t.get("term")]
    if tags:
        raw["tags"] = tags
    source = e.get("source") or {}
    if source.get("title"):
        raw["source_title"] = str(source["title"])[:200]
    views = _int((e.get("media_statistics") or {}).get("views"))
    if views:
        raw["views"] = views
    return raw


def _parse_json_feed(body: bytes) -> ParsedFeed | None:
    """JSON Feed 1.0/1.1 (feedparser 6 does not read it). None when the body is not a JSON Feed."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        return None
    items = doc.get("items")
    if not isinstance(items, list):
        raise PermanentError("JSON Feed without an items list")
    feed_lang = _lang(doc.get("language"))
    entries = [_entry_from_json(item, feed_lang) for item in items[:MAX_ENTRIES] if isinstance(item, dict)]
    return ParsedFeed(entries=entries, title=_plain(str(doc.get("title") or ""), False, MAX_TITLE), version="json")


def _entry_from_json(item: Mapping[str, Any], feed_lang: str | None) -> Entry:
    bodies = [(str(item[k]), html) for k, html in (("content_html", True), ("content_text", False),
                                                   ("summary", False)) if item.get(k)]
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    names = [str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")]
    return Entry(
        id=str(item.get("id") or ""), link=str(item.get("url") or item.get("external_url") or ""),
        title=str(item.get("title") or ""), bodies=bodies, author=", ".join(names),
        published=_iso_time(item.get("date_published")) or _iso_time(item.get("date_modified")),
        lang=_lang(item.get("language")) or feed_lang,
    )


# --------------------------------------------------------------------------------------------- entry -> Post

def parse_posts(body: bytes, headers: Mapping[str, str], url: str, source_id: str, platform: str,
                refine: Callable[[Post], Post] | None = None) -> tuple[ParsedFeed, list[Post]]:
    """parse_feed, then feed_posts: the feed (its entries dropped) and its posts, in one step for a worker."""
    feed = parse_feed(body, headers, url)
    return replace(feed, entries=[]), feed_posts(feed, source_id, platform, refine)


def feed_posts(feed: ParsedFeed, source_id: str, platform: str,
               refine: Callable[[Post], Post] | None = None) -> list[Post]:
    """Posts of a feed, first occurrence of each id only (feeds repeat GUIDs)."""
    posts: dict[str, Post] = {}
    for entry in feed.entries:
        post = entry_post(entry, source_id, platform, feed.title, feed.base)
        if post is not None and refine is not None:
            post = refine(post)
        if post is not None and post.id not in posts:
            posts[post.id] = post
    return list(posts.values())


def entry_post(entry: Entry, source_id: str, platform: str, feed_title: str = "", base: str = "") -> Post | None:
    title = _plain(entry.title, entry.title_html, MAX_TITLE)
    texts = [_plain(value, is_html, MAX_TEXT) for value, is_html in entry.bodies]
    text = max(texts, key=len, default="")  # full content when there is some, else the summary
    url = _safe_url(entry.link, base)
    post_id = _post_id(entry.id, url, title, text)
    if not post_id:
        return None
    raw = {**entry.raw, **({"feed_title": feed_title} if feed_title else {})}
    return Post(source_id=source_id, platform=platform, id=post_id, url=url, title=title, text=text,
                author=Author(handle=entry.author[:200], display_name=entry.author[:200]),
                published_at=entry.published, engagement=Engagement(likes=entry.likes),
                lang_hint=entry.lang, raw=raw)


def _post_id(guid: str, url: str, title: str, text: str) -> str:
    identity = guid.strip() or url
    if not identity:
        if not (title or text):
            return ""
        return "sha256:" + hashlib.sha256(f"{title}\0{text}".encode()).hexdigest()[:32]
    if len(identity) > MAX_ID:
        return "sha256:" + hashlib.sha256(identity.encode()).hexdigest()[:32]
    return identity


def _safe_url(link: str, base: str = "") -> str:
    link = link.strip()
    if base and link and len(link) <= MAX_URL and not urlsplit(link).scheme:
        link = urljoin(base, link)
    if len(link) > MAX_URL:
        return ""
    parts = urlsplit(link)
    return link if parts.scheme in _SAFE_SCHEMES and parts.netloc else ""


def _plain(value: str, is_html: bool, limit: int) -> str:
    return html_to_text(value, limit) if is_html else collapse_lines(value)[:limit]


def _is_html(mime: str | None) -> bool:
    return mime is None or "html" in mime


def _lang(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower().replace("_", "-")
    return value if _LANG.match(value) and len(value) <= 35 else None


def _struct_time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _iso_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return parsed and (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _ttl(value: Any) -> float | None:
    try:
        return _clamp(float(str(value).strip()) * 60) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return max(0, int(str(value)))
    except (TypeError, ValueError):
        return 0


@registry.source("rss", RssConfig)
def make_rss(source_id: str, config: RssConfig, ctx: registry.PluginContext) -> FeedSource:
    return FeedSource(source_id, config.url, ctx.http, timeout=config.timeout, max_bytes=config.max_bytes,
                      headers=dict(config.headers))
