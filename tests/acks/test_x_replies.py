"""The brand's own replies on X acknowledge the alert about the tweet they answer.

A loopback X API v2 answers `GET /2/users/by/username/:name` and `GET /2/users/:id/tweets` with X's paths,
statuses, rate-limit headers and JSON shapes. The customers' tweets are the recorded mentions of @Twitter
(tests/sources/data/x_users_mentions.json); the brand's timeline is built from the API reference's shape
(`referenced_tweets` of type replied_to / quoted), as the recordings have no user timeline."""
from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from werkzeug import Request, Response

from monitor.acks import AckPoller, PublicReplyListener
from monitor.app import build_ack_listeners, build_pipeline
from monitor.errors import AuthFailedError, ConfigError, PermanentError, RateLimitedError
from monitor.models import Author, Post
from monitor.settings import PublicRepliesConfig, parse_account, parse_settings
from tests.acks.helpers import NOW, acked
from tests.acks.test_replies import store_alert
from tests.factories import NOW as POSTED

MENTIONS = json.loads((Path(__file__).parents[1] / "sources" / "data" / "x_users_mentions.json").read_text())
ANSWERED, QUOTED, UNTOUCHED = (t["id"] for t in MENTIONS["data"][:3])
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest-bearer"
BRAND_ID = "783214"
RESET = int(NOW) + 600
JSON = "application/json; charset=utf-8"


def tweet(tweet_id: str, refs: list[tuple[str, str]] = (), text: str = "We are on it, sorry!") -> dict:
    body = {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id], "conversation_id": tweet_id}
    if refs:
        body["referenced_tweets"] = [{"type": kind, "id": ref} for kind, ref in refs]
        body["in_reply_to_user_id"] = "1000"
    return body


def timeline(*tweets: dict) -> dict:
    if not tweets:
        return {"meta": {"result_count": 0}}
    return {"data": list(tweets), "meta": {"result_count": len(tweets), "newest_id": tweets[0]["id"],
                                           "oldest_id": tweets[-1]["id"]}}


class FakeX:
    """users/by/username and users/:id/tweets, one queued timeline per request, with X's rate-limit headers."""

    def __init__(self, *timelines: dict):
        self.timelines = list(timelines)
        self.requests: list[tuple[str, dict]] = []
        self.remaining = 1499
        self.status: int | None = None

    def __call__(self, request: Request) -> Response:
        self.requests.append((request.path, request.args.to_dict()))
        headers = {"x-rate-limit-limit": "1500", "x-rate-limit-remaining": str(self.remaining),
                   "x-rate-limit-reset": str(RESET)}
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
                         401, headers)
        if self.status == 429:
            return _json({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                          "status": 429}, 429, headers)
        if request.path.startswith("/2/users/by/username/"):
            name = request.path.rsplit("/", 1)[1]
            if name.lower() != "acme":
                return _json({"errors": [{"value": name, "detail": f"Could not find user with username: [{name}].",
                                          "title": "Not Found Error", "resource_type": "user",
                                          "parameter": "username", "resource_id": name,
                                          "type": "https://api.twitter.com/2/problems/resource-not-found"}]},
                             200, headers)
            return _json({"data": {"id": BRAND_ID, "name": "Acme Support", "username": "Acme"}}, 200, headers)
        if request.path == f"/2/users/{BRAND_ID}/tweets":
            return _json(self.timelines.pop(0) if self.timelines else timeline(), 200, headers)
        return _json({"title": "Not Found"}, 404, headers)


def _json(body: object, code: int, headers: dict) -> Response:
    return Response(json.dumps(body), code, content_type=JSON, headers=headers)


def x_listener(httpserver, http, store, fake: FakeX, handle: str = "Acme", token: str = TOKEN):
    httpserver.expect_request(re.compile("^/2/")).respond_with_handler(fake)
    config = PublicRepliesConfig(every="1m", x_bearer_token=token, x_api=httpserver.url_for("/2"))
    return PublicReplyListener(parse_account(f"https://x.com/{handle}"), config, http, store)


async def test_a_reply_acknowledges_the_alert_about_the_tweet_it_answers_and_only_it(httpserver, http, store):
    answered, quoted, untouched = (store_alert(store, "x", t, n) for n, t in enumerate((ANSWERED, QUOTED, UNTOUCHED)))
    fake = FakeX(timeline(tweet("1578530000000000003", [("replied_to", ANSWERED)]),
                          tweet("1578530000000000002", [("quoted", QUOTED)], "Look at this"),
                          tweet("1578530000000000001", text="Our news")))
    listener = x_listener(httpserver, http, store, fake)
    assert await listener.poll_once(NOW) == 1
    assert acked(store, answered) == (NOW, "reply:x:acme")
    assert acked(store, quoted) == acked(store, untouched) == (None, None)
    assert fake.requests == [
        ("/2/users/by/username/acme", {}),
        (f"/2/users/{BRAND_ID}/tweets", {"max_results": "40", "exclude": "retweets",
                                         "tweet.fields": "referenced_tweets,in_reply_to_user_id,conversation_id"})]

    fake.timelines.append(timeline(tweet("1578530000000000004", [("replied_to", UNTOUCHED)])))
    assert await listener.poll_once(NOW + 30) == 0 and len(fake.requests) == 2  # within `every`: no request
    assert await listener.poll_once(NOW + 60) == 1                            # only tweets newer than the last
    assert fake.requests[2][1]["since_id"] == "1578530000000000003"
    assert acked(store, untouched) == (NOW + 60, "reply:x:acme") and acked(store, quoted) == (None, None)


async def test_a_used_up_window_is_waited_out_and_a_429_keeps_the_position(httpserver, http, store):
    alert_id = store_alert(store, "x", ANSWERED)
    fake = FakeX(timeline(tweet("1578530000000000001", text="Our news")))
    fake.remaining = 0  # this answer is still read; nothing more is asked before the reset
    listener = x_listener(httpserver, http, store, fake)
    assert await listener.poll_once(NOW) == 0
    assert await listener.poll_once(NOW + 120) == 0 and len(fake.requests) == 2
    fake.remaining, fake.status = 5, 429
    with pytest.raises(RateLimitedError) as caught:
        await listener.poll_once(RESET)
    assert caught.value.retry_after == 1.0  # the recorded reset has just passed: no sooner than a second
    fake.status = None
    fake.timelines.append(timeline(tweet("1578530000000000002", [("replied_to", ANSWERED)])))
    assert await listener.poll_once(RESET + 60) == 1 and acked(store, alert_id)[0] == RESET + 60
    assert [a.get("since_id") for _, a in fake.requests[2:]] == ["1578530000000000001"] * 2


async def test_a_429_backs_the_listener_off_until_the_reset(httpserver, http, store):
    fake = FakeX()
    fake.status = 429
    listener = x_listener(httpserver, http, store, fake)
    poller = AckPoller([listener], every=15.0)
    assert await poller.poll(listener, NOW) >= RESET
    state = poller.states["public_reply:x:acme"]
    assert (state.ok, state.error_kind) == (False, "RateLimitedError") and "HTTP 429" in state.error


async def test_a_rejected_token_is_a_clear_error_and_the_listener_backs_off(httpserver, http, store):
    fake = FakeX()
    listener = x_listener(httpserver, http, store, fake, token="revoked-token")
    poller = AckPoller([listener], every=15.0, backoff_max=300.0)
    next_at = await poller.poll(listener, NOW)
    state = poller.states["public_reply:x:acme"]
    assert (state.ok, state.error_kind) == (False, "AuthFailedError")
    assert state.error == "public replies of x:acme: HTTP 401: bearer_token rejected: Unauthorized"
    assert "revoked-token" not in state.error and NOW + 15.0 <= next_at <= NOW + 300.0
    with pytest.raises(AuthFailedError):
        await listener.poll_once(next_at + 60)
    assert len(fake.requests) == 2


async def test_an_unknown_account_is_a_permanent_error_naming_it(httpserver, http, store):
    with pytest.raises(PermanentError, match=r"x:nobody: the account was not found on X"):
        await x_listener(httpserver, http, store, FakeX(), handle="nobody").poll_once(NOW)


CONFIG = """\
brands:
  - name: Acme
    accounts:
      - https://mastodon.example/@acme
      - https://x.com/AcmeSupport
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "config.yaml")
    return caught.value.problems


def test_an_x_account_needs_the_bearer_token_and_a_bad_profile_url_is_named():
    assert problems(CONFIG) == [("config.yaml:5: brands[0].accounts[1]: reading X replies needs an X App's token: "
                                 "set public_replies.x_bearer_token_file (or x_bearer_token)")]
    assert problems(CONFIG + "  - name: Globex\n    accounts: https://x.com/globex/status/1\n") == [
        ("config.yaml:7: brands[1].accounts: 'https://x.com/globex/status/1' is not a profile URL like "
         "https://mastodon.social/@acme, https://bsky.app/profile/acme.bsky.social or https://x.com/acme")]


def test_the_token_comes_from_a_file_and_the_brands_own_tweets_are_not_alerts(tmp_path, store):
    (tmp_path / "x_token").write_text(TOKEN + "\n")
    settings = parse_settings(CONFIG + textwrap.dedent(f"""\
        public_replies:
          x_bearer_token_file: {tmp_path / "x_token"}
        """))
    assert settings.public_replies.x_bearer_token.get_secret_value() == TOKEN
    listeners = build_ack_listeners(settings, None, store)  # type: ignore[arg-type]
    assert [x.id for x in listeners] == ["mastodon:acme@mastodon.example", "x:acmesupport"]
    own = Post(source_id="tweets", platform="x", id="1", url="https://x.com/AcmeSupport/status/1", title="",
               text="Acme status: the app is down, we are on it", author=Author(handle="AcmeSupport"))
    assert build_pipeline(settings).process(own, POSTED) == []
