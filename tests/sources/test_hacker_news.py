"""Hacker News source against a fake Algolia search_by_date served over loopback."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import PermanentError, RateLimitedError, TransientError
from monitor.registry import PluginContext
from monitor.settings import BrandConfig
from monitor.sources.base import SourceState
from monitor.sources.common import Watermark, html_to_text
from monitor.sources.hacker_news import HackerNewsConfig

DATA = Path(__file__).parent / "social_data"
NOW = 1795166000.0  # 2026-11-20T09:13:20Z, shortly after the sample items


class FakeAlgolia:
    """search_by_date as Algolia answers it: newest first, tags OR-list, numericFilters, paging."""

    def __init__(self, items: list[dict]):
        self.items = list(items)
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.requests.append(args)
        tags = args.get("tags", "").strip("()").split(",")
        floor = int(re.fullmatch(r"created_at_i>=(\d+)", args.get("numericFilters", "created_at_i>=0")).group(1))
        query = args.get("query", "").lower()
        hits = sorted((i for i in self.items if i["created_at_i"] >= floor and set(tags) & set(i["_tags"])
                       and query in json.dumps([i.get("title"), i.get("story_text"), i.get("comment_text")]).lower()),
                      key=lambda i: -i["created_at_i"])
        per_page, page = int(args.get("hitsPerPage", 20)), int(args.get("page", 0))
        body = {"hits": hits[page * per_page:(page + 1) * per_page], "nbHits": len(hits), "page": page,
                "nbPages": -(-len(hits) // per_page), "hitsPerPage": per_page, "exhaustiveNbHits": True,
                "query": query, "params": urlencode(args), "processingTimeMS": 1}
        return Response(json.dumps(body), content_type="application/json; charset=utf-8")


def _item(n: int, ts: int, title: str = "Acme news") -> dict:
    return {"created_at": datetime.fromtimestamp(ts, timezone.utc).isoformat(), "title": f"{title} {n}",
            "url": None, "author": f"user{n}", "points": n, "story_text": None, "comment_text": None,
            "num_comments": 0, "created_at_i": ts, "_tags": ["story", f"author_user{n}", f"story_{n}"],
            "objectID": str(n)}


def make_source(client, server, brands=("Acme",), **options):
    ctx = PluginContext(http=client, brands=tuple(BrandConfig(name=b) for b in brands))
    config = HackerNewsConfig.model_validate({"type": "hacker_news", "api_url": server.url_for(""), **options})
    plugin = registry.lookup(registry.SOURCES, "hacker_news")
    source = plugin.factory("hn_test", config, ctx)
    source.clock = lambda: NOW
    return source


async def test_maps_stories_and_comments(httpserver, client):
    fake = FakeAlgolia(json.loads((DATA / "hn_items.json").read_text()))
    httpserver.expect_request("/search_by_date").respond_with_handler(fake)
    result = await make_source(client, httpserver).fetch(SourceState("hn_test"))

    posts = {p.id: p for p in result.posts}
    assert set(posts) == {"41000001", "41000017", "41000050"}
    story, comment, ask = posts["41000001"], posts["41000017"], posts["41000050"]
    assert story.url == "https://news.ycombinator.com/item?id=41000001"
    assert story.title == "Acme Cloud is down again" and story.platform == "hacker_news"
    assert story.published_at == datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    assert (story.engagement.likes, story.engagement.replies) == (87, 31)
    assert story.raw["url"] == "https://status.acme.example/incidents/42" and story.raw["kind"] == "story"
    assert comment.title == "" and comment.raw["story_title"] == "Acme Cloud is down again"
    assert comment.text == ("We moved off Acme last year \u2014 their support didn't answer for 3 days.\n"
                            "Never again. See https://example.org/post")
    assert comment.author.handle == "grumpy_dev" and comment.engagement.likes == 0
    assert ask.text == "We're evaluating Acme & Stripe."
    sent = fake.requests[0]
    assert sent["tags"] == "(story,comment)" and sent["query"] == "Acme"
    assert sent["numericFilters"] == f"created_at_i>={int(NOW - 3600)}"


async def test_first_poll_takes_one_page_then_only_new_items(httpserver, client):
    base = int(NOW) - 600
    fake = FakeAlgolia([_item(n, base + n) for n in range(1, 8)])
    httpserver.expect_request("/search_by_date").respond_with_handler(fake)
    source = make_source(client, httpserver, hits_per_page=3)

    first = await source.fetch(SourceState("hn_test"))
    assert sorted(p.id for p in first.posts) == ["5", "6", "7"]  # newest page only, no backfill
    assert len(fake.requests) == 1

    fake.items += [_item(n, base + n) for n in range(20, 25)]  # 5 new: needs two pages of 3
    second = await source.fetch(SourceState("hn_test", cursor=first.cursor))
    assert sorted(p.id for p in second.posts) == ["20", "21", "22", "23", "24"]

    third = await source.fetch(SourceState("hn_test", cursor=second.cursor))
    assert third.posts == []
    assert json.loads(third.cursor)["Acme"]["t"] == base + 24


async def test_backlog_beyond_max_pages_is_logged(httpserver, client):
    base = int(NOW) - 600
    fake = FakeAlgolia([_item(1, base)])
    httpserver.expect_request("/search_by_date").respond_with_handler(fake)
    source = make_source(client, httpserver, hits_per_page=2, max_pages=2)
    first = await source.fetch(SourceState("hn_test"))
    fake.items += [_item(n, base + n) for n in range(10, 16)]  # 6 new, room for 4
    with capture_logs() as logs:
        second = await source.fetch(SourceState("hn_test", cursor=first.cursor))
    assert sorted(p.id for p in second.posts) == ["12", "13", "14", "15"]
    assert [e["event"] for e in logs] == ["source_backlog_skipped"] and logs[0]["query"] == "Acme"


async def test_late_indexed_item_inside_overlap_is_picked_up_once(httpserver, client):
    base = int(NOW) - 100
    fake = FakeAlgolia([_item(1, base + 10)])
    httpserver.expect_request("/search_by_date").respond_with_handler(fake)
    source = make_source(client, httpserver, overlap="5m")
    first = await source.fetch(SourceState("hn_test"))
    fake.items.append(_item(2, base + 5))  # older timestamp, indexed after the first poll
    second = await source.fetch(SourceState("hn_test", cursor=first.cursor))
    assert [p.id for p in second.posts] == ["2"]
    third = await source.fetch(SourceState("hn_test", cursor=second.cursor))
    assert third.posts == []


async def test_same_item_found_by_two_terms_is_returned_once(httpserver, client):
    fake = FakeAlgolia([_item(1, int(NOW) - 60, title="Acme Corp and Acme")])
    httpserver.expect_request("/search_by_date").respond_with_handler(fake)
    ctx_brands = (BrandConfig(name="Acme", keywords=["Acme", "Acme Corp"]),)
    ctx = PluginContext(http=client, brands=ctx_brands)
    config = HackerNewsConfig(type="hacker_news", api_url=httpserver.url_for(""))
    source = registry.lookup(registry.SOURCES, "hacker_news").factory("hn", config, ctx)
    source.clock = lambda: NOW
    result = await source.fetch(SourceState("hn"))
    assert [p.id for p in result.posts] == ["1"]
    assert [r["query"] for r in fake.requests] == ["Acme", "Acme Corp"]
    assert set(json.loads(result.cursor)) == {"Acme", "Acme Corp"}


async def test_429_with_retry_after_is_rate_limited(httpserver, client):
    httpserver.expect_request("/search_by_date").respond_with_json(
        {"message": "Too many requests", "status": 429}, status=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimitedError) as caught:
        await make_source(client, httpserver).fetch(SourceState("hn_test"))
    assert caught.value.retry_after == 30


async def test_5xx_is_transient(httpserver, client):
    httpserver.expect_request("/search_by_date").respond_with_data("upstream error", status=502)
    with pytest.raises(TransientError):
        await make_source(client, httpserver).fetch(SourceState("hn_test"))


async def test_oversized_response_is_refused(httpserver, client):
    fake = FakeAlgolia([_item(n, int(NOW) - n) for n in range(1, 40)])
    httpserver.expect_request("/search_by_date").respond_with_handler(fake)
    with pytest.raises(PermanentError, match="cap"):
        await make_source(client, httpserver, max_bytes=2000).fetch(SourceState("hn_test"))


async def test_garbage_cursor_counts_as_first_poll(httpserver, client):
    fake = FakeAlgolia([_item(1, int(NOW) - 60)])
    httpserver.expect_request("/search_by_date").respond_with_handler(fake)
    result = await make_source(client, httpserver).fetch(SourceState("hn_test", cursor="not json"))
    assert [p.id for p in result.posts] == ["1"]


def test_config_is_strict():
    with pytest.raises(ValidationError):
        HackerNewsConfig.model_validate({"type": "hacker_news", "hits_per_page": 0})
    with pytest.raises(ValidationError):
        HackerNewsConfig.model_validate({"type": "hacker_news", "querry": "x"})
    assert HackerNewsConfig(type="hacker_news").api_url == "https://hn.algolia.com/api/v1"


@pytest.mark.parametrize(("html", "text"), [
    ("a &amp; b<p>c", "a & b\nc"),
    ("<script>x()</script>hi <b>there</b>", "hi there"),
    ("", ""),
    ('<p><a href="https://x/tags/acme" class="mention hashtag">#<span>acme</span></a> down</p>', "#acme down"),
])
def test_html_to_text(html, text):
    assert html_to_text(html) == text


def test_watermark_keeps_only_recent_ids():
    mark = Watermark(100.0, floor=85.0).advanced([("a", 50.0), ("b", 95.0), ("c", 120.0)], overlap=30)
    assert mark.t == 120.0 and set(mark.seen) == {"b", "c"}
    assert not mark.is_new("c", 120.0, 30) and mark.is_new("d", 100.0, 30) and not mark.is_new("e", 86.0 - 1, 30)
    assert Watermark.first(10.0, [50.0, 40.0], page_full=True).since(1000) == 40.0
