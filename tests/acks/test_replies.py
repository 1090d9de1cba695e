"""The brand's own public reply on Mastodon or Bluesky acknowledges the alert about the post it answers.

Fake instances over loopback answer with the real APIs' paths, statuses and JSON shapes (Mastodon
accounts/lookup, accounts/:id/statuses, statuses/:id; Bluesky app.bsky.feed.getAuthorFeed)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from werkzeug import Request, Response

from monitor.acks import PublicReplyListener
from monitor.app import build_ack_listeners, build_pipeline
from monitor.errors import PermanentError
from monitor.models import Author, Post, Send
from monitor.settings import PublicRepliesConfig, parse_account, parse_settings
from monitor.sources.base import SourceState
from tests.acks.helpers import NOW, acked
from tests.factories import NOW as POSTED
from tests.factories import make_alert

CUSTOMER_URI = "https://social.example/users/kim/statuses/111"
BSKY_CUSTOMER_URI = "at://did:plc:customer123/app.bsky.feed.post/3kcustomer1"
FIXTURES = Path(__file__).parents[2].parent / "shared" / "fixtures"


def store_alert(store, platform: str, post_id: str, n: int = 1) -> str:
    post = Post(source_id="social", platform=platform, id=post_id, url=f"https://social.example/@kim/{n}",
                title="", text="Acme app is down again", author=Author(handle="kim@social.example"),
                published_at=POSTED)
    alert = make_alert(post)
    store.ingest(SourceState(source_id="social"), [post], [(alert, {"team": Send()})], NOW)
    return alert.id


def status(status_id: str, reply_to: str | None, text: str = "<p>Sorry! We are on it.</p>") -> dict:
    return {"id": status_id, "created_at": "2026-11-25T10:00:00.000Z", "in_reply_to_id": reply_to,
            "in_reply_to_account_id": "900" if reply_to else None, "visibility": "public",
            "uri": f"https://mastodon.example/users/acme/statuses/{status_id}",
            "url": f"https://mastodon.example/@acme/{status_id}", "content": text, "reblog": None,
            "account": {"id": "42", "username": "acme", "acct": "acme", "display_name": "Acme Support"}}


class MastodonInstance:
    """accounts/lookup, accounts/:id/statuses and statuses/:id as Mastodon 4 answers them without a token."""

    def __init__(self, statuses: list[dict], parents: dict[str, str]):
        self.statuses, self.parents, self.requests = statuses, parents, []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request.full_path.rstrip("?"))
        if request.path == "/api/v1/accounts/lookup":
            if request.args.get("acct") != "acme":
                return _json({"error": "Record not found"}, 404)
            return _json({"id": "42", "username": "acme", "acct": "acme"})
        if request.path == "/api/v1/accounts/42/statuses":
            return _json(self.statuses)
        if m := re.fullmatch(r"/api/v1/statuses/(\w+)", request.path):
            uri = self.parents.get(m.group(1))
            return _json({"id": m.group(1), "uri": uri}) if uri else _json({"error": "Record not found"}, 404)
        return _json({"error": "Not found"}, 404)


def _json(body: object, code: int = 200) -> Response:
    return Response(json.dumps(body), code, content_type="application/json; charset=utf-8")


def mastodon_listener(httpserver, http, store, handle: str = "acme") -> PublicReplyListener:
    account = parse_account(httpserver.url_for(f"/@{handle}"))
    return PublicReplyListener(account, PublicRepliesConfig(every="1m"), http, store)


async def test_a_mastodon_reply_acknowledges_the_alert_about_its_parent(httpserver, http, store):
    alert_id = store_alert(store, "mastodon", CUSTOMER_URI)
    other_id = store_alert(store, "mastodon", "https://social.example/users/lee/statuses/222", n=2)
    fake = MastodonInstance([status("501", "7001"), status("500", None, "<p>Our news</p>")],
                            parents={"7001": CUSTOMER_URI})
    httpserver.expect_request(re.compile(r"/api/v1/.*")).respond_with_handler(fake)
    listener = mastodon_listener(httpserver, http, store)
    assert await listener.poll_once(NOW + 60) == 1
    assert acked(store, alert_id) == (NOW + 60, f"reply:mastodon:acme@{httpserver.host}:{httpserver.port}")
    assert acked(store, other_id) == (None, None)
    assert fake.requests == ["/api/v1/accounts/lookup?acct=acme",
                             "/api/v1/accounts/42/statuses?exclude_reblogs=true&limit=40", "/api/v1/statuses/7001"]


async def test_mastodon_polls_are_spaced_and_parents_are_looked_up_once(httpserver, http, store):
    fake = MastodonInstance([status("501", "7001"), status("502", "7404")], parents={"7001": CUSTOMER_URI})
    httpserver.expect_request(re.compile(r"/api/v1/.*")).respond_with_handler(fake)
    listener = mastodon_listener(httpserver, http, store)
    assert await listener.poll_once(NOW) == 0          # no alert yet; a deleted parent (404) is skipped
    assert await listener.poll_once(NOW + 30) == 0     # within `every`: no request at all
    alert_id = store_alert(store, "mastodon", CUSTOMER_URI)
    assert await listener.poll_once(NOW + 60) == 0     # the reply was seen before the alert existed
    assert acked(store, alert_id) == (None, None)
    fake.statuses.insert(0, status("503", "7001", "<p>Fixed now, sorry again</p>"))
    assert await listener.poll_once(NOW + 120) == 1    # a newer reply to the same post acknowledges it
    lookups = [r for r in fake.requests if r.startswith("/api/v1/statuses/")]
    assert lookups == ["/api/v1/statuses/7001", "/api/v1/statuses/7404", "/api/v1/statuses/7001"]


async def test_an_unknown_mastodon_account_is_a_permanent_error_naming_it(httpserver, http, store):
    httpserver.expect_request(re.compile(r"/api/v1/.*")).respond_with_handler(MastodonInstance([], {}))
    with pytest.raises(PermanentError, match=r"mastodon:nobody@.*not found"):
        await mastodon_listener(httpserver, http, store, handle="nobody").poll_once(NOW)


def feed_item(uri: str, handle: str, parent: str | None, repost: bool = False) -> dict:
    record = {"$type": "app.bsky.feed.post", "createdAt": "2026-11-25T10:00:00.000Z", "text": "Sorry about that!"}
    if parent:
        ref = {"uri": parent, "cid": "bafyreiparent"}
        record["reply"] = {"root": ref, "parent": ref}
    item: dict = {"post": {"uri": uri, "cid": "bafyreireply", "author": {"did": "did:plc:acme", "handle": handle},
                           "record": record, "replyCount": 0, "repostCount": 0, "likeCount": 0}}
    if repost:
        item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": "did:plc:acme"}}
    return item


async def test_a_bluesky_reply_acknowledges_and_reposts_or_others_do_not(httpserver, http, store):
    answered = store_alert(store, "bluesky", BSKY_CUSTOMER_URI)
    reposted = store_alert(store, "bluesky", "at://did:plc:other/app.bsky.feed.post/3kother", n=2)
    feed = {"feed": [feed_item("at://did:plc:acme/app.bsky.feed.post/3kr1", "acme.bsky.social", BSKY_CUSTOMER_URI),
                     feed_item("at://did:plc:other/app.bsky.feed.post/3kx", "other.bsky.social",
                               "at://did:plc:other/app.bsky.feed.post/3kother", repost=True)],
            "cursor": "2026-11-25T10:00:00.000Z"}
    httpserver.expect_request("/xrpc/app.bsky.feed.getAuthorFeed", query_string={
        "actor": "acme.bsky.social", "filter": "posts_with_replies", "limit": "40"}).respond_with_json(feed)
    config = PublicRepliesConfig(bluesky_api=httpserver.url_for("/"))
    listener = PublicReplyListener(parse_account("https://bsky.app/profile/Acme.bsky.social"), config, http, store)
    assert await listener.poll_once(NOW) == 1
    assert acked(store, answered) == (NOW, "reply:bluesky:acme.bsky.social")
    assert acked(store, reposted) == (None, None)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not found")
async def test_the_recorded_bluesky_author_feed_yields_its_reply_parents(httpserver, http, store):
    recorded = json.loads((FIXTURES / "bluesky" / "bskyr_vcr_f_autfeed__01.json").read_text())
    replies = [i["post"] for i in recorded["feed"] if "reply" in i["post"]["record"] and "reason" not in i]
    assert replies, "the recording has replies"
    parents = sorted({p["record"]["reply"]["parent"]["uri"] for p in replies})
    for n, uri in enumerate(parents):
        store_alert(store, "bluesky", uri, n=n)
    httpserver.expect_request("/xrpc/app.bsky.feed.getAuthorFeed").respond_with_json(recorded)
    account = parse_account("https://bsky.app/profile/" + replies[0]["author"]["handle"])
    listener = PublicReplyListener(account, PublicRepliesConfig(bluesky_api=httpserver.url_for("/")), http, store)
    assert await listener.poll_once(NOW) == len(parents) > 10


def test_settings_list_one_listener_per_account_and_skip_the_brands_own_posts(store):
    settings = parse_settings("""
brands:
  - name: Acme
    accounts: ["https://mastodon.example/@Acme", "https://bsky.app/profile/acme.bsky.social"]
notifiers: {team: {type: webhook, url: "http://127.0.0.1:9/hook"}}
routes: [{name: all, notify: [team]}]
""")
    listeners = build_ack_listeners(settings, None, store)  # type: ignore[arg-type]
    assert [x.id for x in listeners] == ["bluesky:acme.bsky.social", "mastodon:acme@mastodon.example"]
    pipeline = build_pipeline(settings)
    own = Post(source_id="m", platform="mastodon", id="u1", url="https://mastodon.example/@acme/1", title="",
               text="Acme status: the app is down, we are on it", author=Author(handle="Acme@mastodon.example"))
    customer = Post(source_id="m", platform="mastodon", id="u2", url="https://social.example/@kim/2", title="",
                    text="Acme app is down", author=Author(handle="kim@social.example"))
    assert pipeline.process(own, POSTED) == []
    assert len(pipeline.process(customer, POSTED)) == 1
