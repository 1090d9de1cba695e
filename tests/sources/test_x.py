"""X source against a loopback X API v2: recorded search and mentions responses, rate-limit headers, auth errors."""
from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, ConfigError, RateLimitedError
from monitor.registry import PluginContext
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.sources.x import XConfig, search_queries

DATA = Path(__file__).parent / "data"
SEARCH = json.loads((DATA / "x_search_recent.json").read_text())      # recorded, default fields only
MENTIONS = json.loads((DATA / "x_users_mentions.json").read_text())  # recorded, default fields only
NOW = 1665183000.0  # 2022-10-07 22:50 UTC, just after the recordings
RESET = 1665183229  # the recorded x-rate-limit-reset
JSON = "application/json; charset=utf-8"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest-bearer"
BRANDS = (BrandConfig(name="Tweepy", keywords=["Tweepy", "tweepy python"]),)


def expanded(body: dict) -> dict:
    """The recorded body as it comes with this source's tweet.fields, expansions=author_id and user.fields (shapes
    from the X API v2 reference): metrics, dates and an author for every tweet."""
    body = copy.deepcopy(body)
    for n, tweet in enumerate(body["data"]):
        tweet.update(author_id=str(1000 + n % 2), created_at="2022-10-07T22:42:12.000Z", lang="en",
                     conversation_id=tweet["id"],
                     public_metrics={"retweet_count": 2, "reply_count": 3, "like_count": 5, "quote_count": 1})
    body["includes"] = {"users": [
        {"id": "1000", "name": "Harmon", "username": "harmon758", "verified": False,
         "public_metrics": {"followers_count": 1520, "following_count": 10, "tweet_count": 99, "listed_count": 1}},
        {"id": "1001", "name": "Tweepy", "username": "TweepyPython", "verified": True,
         "public_metrics": {"followers_count": 8900, "following_count": 1, "tweet_count": 500, "listed_count": 40}},
    ]}
    return body


class FakeX:
    """Serves one queued body per request on each endpoint, with X's rate-limit headers."""

    def __init__(self, search: list[dict], mentions: list[dict] | None = None):
        self.bodies = {"search": list(search), "mentions": list(mentions or [])}
        self.requests: list[tuple[str, dict]] = []
        self.remaining = 448
        self.status: tuple[int, dict] | None = None

    def __call__(self, request: Request) -> Response:
        self.requests.append((request.path, request.args.to_dict()))
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": str(self.remaining),
                   "x-rate-limit-reset": str(RESET), "api-version": "2.52"}
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response(json.dumps({"title": "Unauthorized", "type": "about:blank", "status": 401,
                                        "detail": "Unauthorized"}), status=401, content_type=JSON, headers=headers)
        if self.status:
            return Response(json.dumps(self.status[1]), status=self.status[0], content_type=JSON, headers=headers)
        kind = "mentions" if request.path.endswith("/mentions") else "search"
        body = self.bodies[kind].pop(0) if self.bodies[kind] else {"meta": {"result_count": 0}}
        return Response(json.dumps(body), content_type=JSON, headers=headers)


def make_source(client, server, fake: FakeX, token: str = TOKEN, **options):
    server.expect_request(re.compile("^/2/")).respond_with_handler(fake)
    config = XConfig.model_validate({"type": "x", "bearer_token": token, "api_url": server.url_for("/2"),
                                     **options})
    source = registry.lookup(registry.SOURCES, "x").factory("x_test", config,
                                                             PluginContext(http=client, brands=BRANDS))
    source.clock = lambda: NOW
    return source


async def test_search_maps_tweets_authors_and_metrics(httpserver, client):
    fake = FakeX([expanded(SEARCH)])
    result = await make_source(client, httpserver, fake, max_pages=1).fetch(SourceState("x_test"))

    assert [p.id for p in result.posts] == [t["id"] for t in SEARCH["data"]]
    post = result.posts[0]
    assert post.platform == "x" and post.text == "2022-10-07 22:42:12.637103 tweepy"
    assert post.url == "https://x.com/harmon758/status/1578516068309794817"
    assert (post.author.handle, post.author.display_name, post.author.followers) == ("harmon758", "Harmon", 1520)
    assert (post.engagement.likes, post.engagement.reposts, post.engagement.replies) == (5, 3, 3)
    assert post.published_at == datetime(2022, 10, 7, 22, 42, 12, tzinfo=timezone.utc)
    assert post.lang_hint == "en" and result.posts[1].raw["verified"] is True
    [(path, args)] = fake.requests
    assert path == "/2/tweets/search/recent"
    assert args["query"] == '("Tweepy" OR "tweepy python") -is:retweet'
    assert args["expansions"] == "author_id" and args["user.fields"] == "public_metrics,verified,username,name"
    assert args["start_time"] == "2022-10-07T21:50:00Z" and "since_id" not in args


async def test_cursor_is_sent_back_as_since_id(httpserver, client):
    fake = FakeX([SEARCH], [MENTIONS])
    source = make_source(client, httpserver, fake, mention_accounts=["783214"], max_pages=1)
    first = await source.fetch(SourceState("x_test"))
    assert len(first.posts) == 20
    assert first.posts[-1].url == f"https://x.com/i/web/status/{MENTIONS['data'][-1]['id']}"  # no expansion: no name
    assert json.loads(first.cursor) == {'search:("Tweepy" OR "tweepy python") -is:retweet': "1578516068309794817",
                                        "mentions:783214": "1578516295611748353"}

    second = await source.fetch(SourceState("x_test", cursor=first.cursor))  # a restart: only the cursor is kept
    assert second.posts == [] and json.loads(second.cursor) == json.loads(first.cursor)
    assert [(p, a.get("since_id"), "start_time" in a) for p, a in fake.requests[2:]] == [
        ("/2/tweets/search/recent", "1578516068309794817", False),
        ("/2/users/783214/mentions", "1578516295611748353", False)]


async def test_pages_follow_next_token_up_to_max_pages(httpserver, client):
    fake = FakeX([SEARCH, MENTIONS])  # the recorded search page has a next_token; so does the second
    result = await make_source(client, httpserver, fake, max_pages=2).fetch(SourceState("x_test", cursor=json.dumps(
        {'search:("Tweepy" OR "tweepy python") -is:retweet': "1578511538419212200"})))
    assert len(result.posts) == 20
    assert fake.requests[1][1]["pagination_token"] == SEARCH["meta"]["next_token"]
    assert list(json.loads(result.cursor).values()) == [SEARCH["meta"]["newest_id"]]  # the newest of page one


async def test_429_waits_until_the_reset(httpserver, client):
    fake = FakeX([SEARCH])
    fake.status = (429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                         "status": 429})
    with pytest.raises(RateLimitedError) as caught:
        await make_source(client, httpserver, fake).fetch(SourceState("x_test"))
    assert caught.value.retry_after == RESET - NOW


async def test_used_up_window_stops_before_the_next_request(httpserver, client):
    fake = FakeX([SEARCH], [MENTIONS])
    fake.remaining = 0
    source = make_source(client, httpserver, fake, mention_accounts=["783214"])
    with pytest.raises(RateLimitedError) as caught:
        await source.fetch(SourceState("x_test"))
    assert caught.value.retry_after == RESET - NOW and len(fake.requests) == 1


async def test_rejected_token_is_an_auth_failure_with_the_reason(httpserver, client):
    with pytest.raises(AuthFailedError, match=r"x /tweets/search/recent: HTTP 401: bearer_token rejected") as caught:
        await make_source(client, httpserver, FakeX([SEARCH]), token="wrong").fetch(SourceState("x_test"))
    assert "wrong" not in str(caught.value)


async def test_free_plan_search_says_what_to_do(httpserver, client):
    fake = FakeX([SEARCH])
    fake.status = (403, {  # the problem X returns to a Free-plan app calling search
        "client_id": "26887430", "title": "Client Forbidden", "reason": "client-not-enrolled",
        "required_enrollment": "Appropriate Level of API Access",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a "
                  "Twitter developer App that is attached to a Project."})
    with pytest.raises(AuthFailedError, match=r"HTTP 403: .*Free plan cannot search.*search: false"):
        await make_source(client, httpserver, fake).fetch(SourceState("x_test"))


def test_long_keyword_lists_are_split_into_queries_that_fit():
    terms = [f"brand number {n}" for n in range(40)]
    queries = search_queries(terms, include_retweets=True, lang="fa", max_length=128)
    assert all(len(q) <= 128 and q.endswith(") lang:fa") for q in queries) and len(queries) > 1
    assert sum(q.count('"') for q in queries) == 80
    assert search_queries(['say "hi"'], False, None, 512) == ['("say  hi") -is:retweet']


def test_check_names_file_line_and_field_of_a_bad_x_source():
    text = ("brands: [{name: Acme}]\nsources:\n  tw:\n    type: x\n    bearer_token: abc\n"
            "    mention_accounts: ['@acme']\n")
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "config.yaml")
    [problem] = info.value.problems
    assert problem.startswith("config.yaml:6: sources.tw.mention_accounts: '@acme' is not a numeric user id")
