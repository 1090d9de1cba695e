"""Public Telegram channels through their web preview, `https://t.me/s/<channel>` (no API, no account).

Follows whole channels (there is no cross-channel search); the matcher picks the brand mentions. The first poll
reads the newest page; later polls ask for `?after=<newest id seen>` and keep paging while pages come back full.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import httpx
import structlog
from pydantic import Field, field_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode

from .. import registry
from ..errors import PermanentError
from ..http import get_capped
from ..models import Author, Engagement, Post
from ..settings import SourceConfig
from .base import FetchResult, SourceState
from .common import FailingTargets, poll_each

log = structlog.get_logger()

MAX_TEXT = 20_000
FULL_PAGE = 20  # the preview shows about 20 messages a page; fewer means we reached the newest
_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,63}$")
_POST_ID = re.compile(r"/(\d+)$")
_COUNT = re.compile(r"^([\d.,]+)\s*([KMB]?)$", re.IGNORECASE)
_SCALE = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


class TelegramChannelConfig(SourceConfig):
    type: Literal["telegram_channel"]
    channels: list[str] = Field(min_length=1)
    base_url: str = "https://t.me"
    max_pages: int = Field(default=3, ge=1, le=20)

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, names: list[str]) -> list[str]:
        cleaned = []
        for name in names:
            short = re.sub(r"^(https?://)?(t\.me/(s/)?|@)", "", name.strip()).strip("/")
            if not _CHANNEL.match(short):
                raise ValueError(f"'{name}' is not a public channel name (letters, digits, _; e.g. 'durov')")
            cleaned.append(short)
        return cleaned


class TelegramChannelSource:
    def __init__(self, source_id: str, config: TelegramChannelConfig, http: httpx.AsyncClient):
        self.source_id, self.config, self.http = source_id, config, http
        self._failing = FailingTargets(source_id, "channel")

    async def fetch(self, state: SourceState) -> FetchResult:
        """Each channel on its own: one that fails keeps its cursor and does not hold back the others.
        A 429 stops the poll (the limit is per client address); the source fails only when every channel did."""
        polls = {channel.lower(): functools.partial(self._poll_channel, channel) for channel in self.config.channels}
        return await poll_each(polls, state.cursor, self._failing)

    async def _poll_channel(self, channel: str, last: int | None) -> tuple[list[Post], int | None]:
        found: list[Post] = []
        for _ in range(self.config.max_pages):
            page = await self._page(channel, last)
            fresh_ids = [i for i in page.ids if last is None or i > last]
            if not fresh_ids:
                break
            found += [post for post in page.posts if int(post.raw["message_id"]) in fresh_ids]
            last = max(fresh_ids)
            if len(page.ids) < FULL_PAGE:
                break
        else:
            log.warning("source_results_truncated", source_id=self.source_id, channel=channel)
        return found, last

    async def _page(self, channel: str, after: int | None) -> PreviewPage:
        url = f"{self.config.base_url.rstrip('/')}/s/{channel}" + (f"?after={after}" if after is not None else "")
        _, body = await get_capped(self.http, url, max_bytes=self.config.max_bytes, timeout=self.config.timeout)
        return parse_preview(self.source_id, channel, body.decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class PreviewPage:
    posts: list[Post]   # messages with text, oldest first
    ids: list[int]      # every message id on the page, captionless media included


def parse_preview(source_id: str, channel: str, markup: str) -> PreviewPage:
    """One preview page. A page that is not a channel preview (or a message without a time) is a PermanentError."""
    tree = LexborHTMLParser(markup)
    messages = tree.css("div.tgme_widget_message[data-post]")
    if not messages and not tree.css_first(".tgme_channel_history, .tgme_channel_info"):
        raise PermanentError(f"telegram channel '{channel}': no public web preview (private, renamed, "
                             "or preview disabled)")
    channel_author = _channel_author(tree, channel)
    posts = [_to_post(source_id, node, channel_author) for node in messages]
    ids = [int(m.group(1)) for node in messages if (m := _POST_ID.search(node.attributes.get("data-post") or ""))]
    return PreviewPage(sorted((p for p in posts if p is not None), key=lambda p: int(p.raw["message_id"])), ids)


def _channel_author(tree: LexborHTMLParser, channel: str) -> Author:
    title = tree.css_first(".tgme_channel_info_header_title")
    followers = None
    for counter in tree.css(".tgme_channel_info_counter"):
        kind, value = counter.css_first(".counter_type"), counter.css_first(".counter_value")
        if kind and value and kind.text(strip=True).lower().startswith("subscriber"):
            followers = parse_count(value.text(strip=True))
    return Author(handle=channel, display_name=title.text(strip=True) if title else channel, followers=followers)


def _to_post(source_id: str, node: LexborNode, channel_author: Author) -> Post | None:
    data_post = node.attributes.get("data-post") or ""
    handle, _, message_id = data_post.rpartition("/")
    text = _message_text(node)
    if not message_id.isdigit() or not handle or not text:
        return None  # service messages and media without a caption: nothing to match
    stamp = node.css_first(".tgme_widget_message_date time[datetime]")
    try:
        published = datetime.fromisoformat(str(stamp.attributes["datetime"] if stamp else "")).astimezone(UTC)
    except ValueError:
        raise PermanentError(f"telegram message {data_post}: missing or invalid time") from None
    views = node.css_first(".tgme_widget_message_views")
    signed = node.css_first(".tgme_widget_message_from_author")
    author = Author(handle=handle, display_name=signed.text(strip=True) if signed else channel_author.display_name,
                    followers=channel_author.followers)
    return Post(
        source_id=source_id, platform="telegram", id=data_post, url=f"https://t.me/{data_post}",
        text=text, author=author, published_at=published,
        engagement=Engagement(likes=_reactions(node)),
        raw={"message_id": message_id, "channel": handle,
             "views": parse_count(views.text(strip=True)) if views else None,
             "forwarded": node.css_first(".tgme_widget_message_forwarded_from") is not None},
    )


def _message_text(node: LexborNode) -> str:
    """The message's own text or caption, not the quoted text of the message it replies to."""
    text_node = next((n for n in node.css(".tgme_widget_message_text")
                      if not _inside(n, "tgme_widget_message_reply", node)), None)
    if text_node is None:
        return ""
    for br in text_node.css("br"):
        br.replace_with("\n")
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text_node.text().split("\n"))
    return "\n".join(line for line in lines if line)[:MAX_TEXT]


def _inside(node: LexborNode, css_class: str, stop: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != stop.mem_id:
        if css_class in (parent.attributes.get("class") or "").split():
            return True
        parent = parent.parent
    return False


def _reactions(node: LexborNode) -> int:
    total = 0
    for reaction in node.css(".tgme_reaction"):
        count = re.search(r"([\d.,]+\s*[KMB]?)\s*$", reaction.text(strip=True), re.IGNORECASE)
        total += (parse_count(count.group(1)) or 0) if count else 0
    return total


def parse_count(text: str) -> int | None:
    """'1.2K' -> 1200, '3M' -> 3000000, '987' -> 987; None when unreadable."""
    match = _COUNT.match(text.strip().replace(" ", ""))
    if not match:
        return None
    number, suffix = match.groups()
    try:  # '2,5K' is a decimal comma; '12,345' a thousands separator
        value = float(number.replace(",", ".")) if suffix else float(number.replace(",", "").replace(".", ""))
    except ValueError:
        return None
    return int(value * _SCALE[suffix.upper()])


@registry.source("telegram_channel", TelegramChannelConfig)
def make_telegram_channel(source_id: str, config: TelegramChannelConfig,
                          ctx: registry.PluginContext) -> TelegramChannelSource:
    return TelegramChannelSource(source_id, config, ctx.http)
