"""Reddit source against a fake Reddit (token endpoint + OAuth listings) served over loopback."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.registry import PluginContext
from monitor.settings import BrandConfig
from monitor.sources.base import SourceState
from monitor.sources.reddit import RedditConfig, _or_queries

DATA = Path(__file__).parent / "social_data"
NOW = 1795166000.0
UNAUTHORIZED = json.dumps({"message": "Unauthorized", "error": 401})

ACME = (BrandConfig(name="Acme"),)


class FakeReddit:
    """www.reddit.com/api/v1/access_token + oauth.reddit.com listings, with Reddit's statuses and headers."""

    def __init__(self, things: list[dict], client=("cid", "csecret"), user=None):
        self.things = list(things)
        self.basic = "Basic " + base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
        self.user = user
        self.valid_tokens: set[str] = set()
        self.token_requests = 0
        self.requests: list[tuple[str, dict]] = []
        self.remaining = 599.0
        self.user_agents: set[str] = set()

    def __call__(self, request: Request) -> Response:
        self.user_agents.add(request.headers.get("User-Agent", ""))
        if request.path == "/api/v1/access_token":
            return self._token(request)
        if request.headers.get("Authorization", "").removeprefix("bearer ") not in self.valid_tokens:
            return Response(UNAUTHORIZED, status=401, content_type="application/json; charset=UTF-8",
                            headers={"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        args = request.args.to_dict()
        self.requests.append((request.path, args))
        self.remaining -= 1
        headers = {"x-ratelimit-used": str(int(599 - self.remaining)), "x-ratelimit-remaining": f"{self.remaining:.1f}",
                   "x-ratelimit-reset": "321"}
        return Response(json.dumps(self._listing(request.path, args)), headers=headers,
                        content_type="application/json; charset=UTF-8")

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        if request.method != "POST" or request.headers.get("Authorization") != self.basic:
            return Response(UNAUTHORIZED, status=401, content_type="application/json; charset=UTF-8")
        form = request.form
        if form.get("grant_type") == "password" and (form.get("username"), form.get("password")) != self.user:
            return Response(json.dumps({"error": "invalid_grant"}), content_type="application/json; charset=UTF-8")
        token = f"tok-{self.token_requests}"
        self.valid_tokens.add(token)
        return Response(json.dumps({"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}),
                        content_type="application/json; charset=UTF-8")

    def _listing(self, path: str, args: dict) -> dict:
        m = re.fullmatch(r"(?:/r/([\w+]+))?/(search|new)", path)
        subs = set(m.group(1).lower().split("+")) if m.group(1) else None
        terms = [t.strip('"').lower() for t in args.get("q", "").split(" OR ")] if m.group(2) == "search" else [""]
        hits = [t for t in self.things
                if (subs is None or t["data"]["subreddit"].lower() in subs)
                and any(term in (t["data"].get("title", "") + t["data"].get("selftext", "")).lower() for term in terms)]
        hits.sort(key=lambda t: -t["data"]["created_utc"])
        if "after" in args:
            names = [t["data"]["name"] for t in hits]
            hits = hits[names.index(args["after"]) + 1:]
        limit = int(args.get("limit", 25))
        page = hits[:limit]
        after = page[-1]["data"]["name"] if len(hits) > limit else None
        return {"kind": "Listing", "data": {"after": after, "dist": len(page), "modhash": "", "geo_filter": "",
                                            "children": page, "before": None}}


def _thing(n: int, ts: float, sub: str = "acme") -> dict:
    return {"kind": "t3", "data": {"subreddit": sub, "selftext": f"Acme post {n}", "title": f"Acme thing {n}",
                                   "name": f"t3_x{n}", "id": f"x{n}", "score": n, "is_self": True,
                                   "author": f"u{n}", "num_comments": 0, "over_18": False,
                                   "permalink": f"/r/{sub}/comments/x{n}/acme_thing/", "created_utc": ts}}


def serve(httpserver, fake: FakeReddit) -> None:
    httpserver.expect_request(re.compile("^/")).respond_with_handler(fake)


def make_source(client, server, brands=ACME, **options):
    raw = {"type": "reddit", "client_id": "cid", "client_secret": "csecret", "api_url": server.url_for(""),
           "token_url": server.url_for("/api/v1/access_token"), **options}
    source = registry.lookup(registry.SOURCES, "reddit").factory(
        "reddit_test", RedditConfig.model_validate(raw), PluginContext(http=client, brands=tuple(brands)))
    source.clock = lambda: NOW
    return source


async def test_maps_search_results(httpserver, client):
    fake = FakeReddit(json.loads((DATA / "reddit_things.json").read_text()))
    serve(httpserver, fake)
    result = await make_source(client, httpserver).fetch(SourceState("reddit_test"))

    posts = {p.id: p for p in result.posts}
    assert set(posts) == {"t3_1abcde", "t3_1abcdf"}  # the deleted post is dropped
    vpn, prices = posts["t3_1abcde"], posts["t3_1abcdf"]
    assert vpn.url == "https://www.reddit.com/r/sysadmin/comments/1abcde/acme_vpn_outage/"
    assert vpn.title == "Acme VPN outage?" and vpn.text.endswith('"known issue" & nothing more.')
    assert vpn.published_at == datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    assert vpn.author.handle == "netadmin_jo" and vpn.author.followers is None
    assert (vpn.engagement.likes, vpn.engagement.replies, vpn.engagement.reposts) == (57, 23, 1)
    assert prices.raw["url"] == "https://news.example.com/acme-prices" and prices.raw["subreddit"] == "technology"
    path, args = fake.requests[0]
    assert path == "/search" and args["q"] == "Acme" and args["sort"] == "new" and args["raw_json"] == "1"
    assert fake.user_agents == {"python:brand-monitor:0.1.0 (self-hosted brand monitoring)"}


async def test_token_is_cached_and_cursor_advances_without_duplicates(httpserver, client):
    fake = FakeReddit([_thing(n, NOW - 1000 + n) for n in range(1, 6)])
    serve(httpserver, fake)
    source = make_source(client, httpserver, limit=2)

    first = await source.fetch(SourceState("reddit_test"))
    assert sorted(p.id for p in first.posts) == ["t3_x4", "t3_x5"]  # newest page only on the first poll
    fake.things += [_thing(n, NOW - 500 + n) for n in range(10, 15)]
    second = await source.fetch(SourceState("reddit_test", cursor=first.cursor))
    assert sorted(p.id for p in second.posts) == [f"t3_x{n}" for n in range(10, 15)]
    third = await source.fetch(SourceState("reddit_test", cursor=second.cursor))
    assert third.posts == []
    assert fake.token_requests == 1
    assert [a.get("after") for _, a in fake.requests[1:4]] == [None, "t3_x13", "t3_x11"]


async def test_subreddit_restriction_and_new_from(httpserver, client):
    fake = FakeReddit([_thing(1, NOW - 60, sub="acme"), _thing(2, NOW - 50, sub="other"),
                       {**_thing(3, NOW - 40, sub="acmeofficial"), "data": {**_thing(3, NOW - 40)["data"],
                        "subreddit": "acmeofficial", "title": "Weekly thread", "selftext": "hello"}}])
    serve(httpserver, fake)
    source = make_source(client, httpserver, subreddits=["acme", "r/help"], new_from=["acmeofficial"])
    result = await source.fetch(SourceState("reddit_test"))
    assert sorted(p.id for p in result.posts) == ["t3_x1", "t3_x3"]
    assert [p for p, _ in fake.requests] == ["/r/acme+help/search", "/r/acmeofficial/new"]
    assert fake.requests[0][1]["restrict_sr"] == "1"
    assert set(json.loads(result.cursor)) == {"search:Acme", "new:acmeofficial"}


async def test_token_is_renewed_before_it_expires(httpserver, client):
    fake = FakeReddit([_thing(1, NOW - 60)])
    serve(httpserver, fake)
    source = make_source(client, httpserver)
    await source.fetch(SourceState("reddit_test"))
    source.clock = lambda: NOW + 86400 - 30  # inside the safety margin before expires_in runs out
    await source.fetch(SourceState("reddit_test"))
    assert fake.token_requests == 2 and fake.requests[-1][0] == "/search"


async def test_expired_token_is_refreshed_once(httpserver, client):
    fake = FakeReddit([_thing(1, NOW - 60)])
    serve(httpserver, fake)
    source = make_source(client, httpserver)
    await source.fetch(SourceState("reddit_test"))
    fake.valid_tokens.clear()  # Reddit revoked the token early
    result = await source.fetch(SourceState("reddit_test"))
    assert [p.id for p in result.posts] == ["t3_x1"] and fake.token_requests == 2


async def test_wrong_client_credentials_name_the_credential(httpserver, client):
    serve(httpserver, FakeReddit([], client=("cid", "other")))
    with pytest.raises(AuthFailedError, match=r"reddit: client_id/client_secret rejected \(HTTP 401\)"):
        await make_source(client, httpserver).fetch(SourceState("reddit_test"))


async def test_wrong_password_names_the_credential(httpserver, client):
    fake = FakeReddit([], user=("bot", "right"))
    serve(httpserver, fake)
    source = make_source(client, httpserver, username="bot", password="wrong")
    with pytest.raises(AuthFailedError, match="username/password rejected"):
        await source.fetch(SourceState("reddit_test"))
    source = make_source(client, httpserver, username="bot", password="right")
    assert (await source.fetch(SourceState("reddit_test"))).posts == []
    assert "python:brand-monitor:0.1.0 (by /u/bot)" in fake.user_agents


async def test_low_quota_pauses_until_reset(httpserver, client):
    fake = FakeReddit([_thing(1, NOW - 60)])
    fake.remaining = 2.0
    serve(httpserver, fake)
    source = make_source(client, httpserver, new_from=["acme"])
    result = await source.fetch(SourceState("reddit_test"))
    assert result.min_next_poll == 321.0
    assert len(fake.requests) == 1  # the /new feed waits for the next poll
    assert set(json.loads(result.cursor)) == {"search:Acme"}


async def test_429_and_5xx_and_size_cap(httpserver, client):
    fake = FakeReddit([_thing(n, NOW - n) for n in range(1, 50)])
    source = make_source(client, httpserver)
    httpserver.expect_oneshot_request("/search").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "7"})
    httpserver.expect_oneshot_request("/search").respond_with_data("<html>oops</html>", status=503)
    httpserver.expect_oneshot_request("/search").respond_with_data("<html>bad gateway</html>", status=502)
    serve(httpserver, fake)
    source._token, source._token_expires = "tok-x", NOW + 3600
    fake.valid_tokens.add("tok-x")
    with pytest.raises(RateLimitedError) as caught:
        await source.fetch(SourceState("reddit_test"))
    assert caught.value.retry_after == 7
    with pytest.raises(RateLimitedError) as caught:
        await source.fetch(SourceState("reddit_test"))
    assert caught.value.retry_after is None
    with pytest.raises(TransientError):
        await source.fetch(SourceState("reddit_test"))
    small = make_source(client, httpserver, max_bytes=3000)
    with pytest.raises(PermanentError, match="cap"):
        await small.fetch(SourceState("reddit_test"))


def test_config_requires_credentials_and_reads_secret_files(tmp_path):
    with pytest.raises(ValidationError, match="reddit_rss"):
        RedditConfig.model_validate({"type": "reddit"})
    with pytest.raises(ValidationError, match="both username and password"):
        RedditConfig.model_validate({"type": "reddit", "client_id": "a", "client_secret": "b", "username": "u"})
    with pytest.raises(ValidationError, match="not a subreddit"):
        RedditConfig.model_validate({"type": "reddit", "client_id": "a", "client_secret": "b",
                                     "subreddits": ["../etc"]})
    (tmp_path / "secret").write_text("s3cret\n")
    config = RedditConfig.model_validate({"type": "reddit", "client_id": "a",
                                          "client_secret_file": str(tmp_path / "secret")})
    assert config.client_secret.get_secret_value() == "s3cret" and "s3cret" not in repr(config)


def test_or_queries_quote_phrases_and_split_long_lists():
    assert _or_queries(["Acme", "Acme Corp", 'say "hi"']) == ['Acme OR "Acme Corp" OR "say  hi"']
    many = _or_queries([f"brandname{n}" for n in range(60)])
    assert len(many) > 1 and all(len(q) <= 400 for q in many)
    assert sum(q.count("brandname") for q in many) == 60

