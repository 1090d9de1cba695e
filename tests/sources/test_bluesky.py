"""Bluesky source against a fake PDS (createSession, refreshSession, searchPosts, getProfiles) over loopback."""
from __future__ import annotations

import copy
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
from monitor.sources.bluesky import BlueskyConfig

DATA = Path(__file__).parent / "social_data"
POSTS = json.loads((DATA / "bluesky_posts.json").read_text())
NOW = 1795166000.0  # 2026-11-20T09:13:20Z
JSON = "application/json; charset=utf-8"


def xrpc_error(status: int, error: str, message: str) -> Response:
    return Response(json.dumps({"error": error, "message": message}), status=status, content_type=JSON)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def post(n: int, ts: float, text: str = "acme again", rkey: str = "") -> dict:
    p = copy.deepcopy(POSTS[0])
    did = f"did:plc:user{n:020d}"
    p["uri"] = f"at://{did}/app.bsky.feed.post/{rkey or f'3m5post{n:05d}'}"
    p["author"].update(did=did, handle=f"user{n}.bsky.social")
    p["record"].update(text=text, createdAt=iso(ts))
    p["indexedAt"] = iso(ts + 0.2)
    return p

ACME = (BrandConfig(name="Acme"),)


class FakePDS:
    """The XRPC endpoints a PDS answers, with its error bodies (ExpiredToken 400, AuthenticationRequired 401)."""

    def __init__(self, posts: list[dict], password: str = "app-pass-1234"):
        self.posts = list(posts)
        self.password = password
        self.access: set[str] = set()
        self.expired: set[str] = set()
        self.refresh: set[str] = set()
        self.followers: dict[str, int] = {}
        self.calls: list[tuple[str, dict]] = []
        self.issued = 0
        self.issue_expired = False  # a server whose clock is far ahead: every token is already expired

    def expire_access(self, refresh_too: bool = False) -> None:
        self.expired |= self.access
        self.access.clear()
        if refresh_too:
            self.refresh.clear()

    def __call__(self, request: Request) -> Response:
        method = request.path.removeprefix("/xrpc/")
        self.calls.append((method, request.args.to_dict(flat=False)))
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method == "com.atproto.server.createSession":
            body = request.get_json()
            if body.get("identifier") != "acme-watch.bsky.social" or body.get("password") != self.password:
                return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
            return self._session()
        if method == "com.atproto.server.refreshSession":
            if bearer not in self.refresh:
                return xrpc_error(400, "ExpiredToken", "Token has expired")
            self.refresh.discard(bearer)
            return self._session()
        if bearer in self.expired:
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        if bearer not in self.access:
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if method == "app.bsky.feed.searchPosts":
            return self._search(request.args)
        if method == "app.bsky.actor.getProfiles":
            actors = request.args.getlist("actors")
            assert len(actors) <= 25
            profiles = [{"did": a, "handle": "x.test", "followersCount": self.followers[a], "followsCount": 1,
                         "postsCount": 9, "labels": []} for a in actors if a in self.followers]
            return Response(json.dumps({"profiles": profiles}), content_type=JSON)
        return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")

    def _session(self) -> Response:
        self.issued += 1
        access, refresh = f"access-{self.issued}", f"refresh-{self.issued}"
        (self.expired if self.issue_expired else self.access).add(access)
        self.refresh.add(refresh)
        return Response(json.dumps({"did": "did:plc:watcher", "handle": "acme-watch.bsky.social", "active": True,
                                    "accessJwt": access, "refreshJwt": refresh}), content_type=JSON)

    def _search(self, args) -> Response:
        since = datetime.fromisoformat(args["since"].replace("Z", "+00:00")).timestamp() if "since" in args else 0

        def sort_at(p):  # the AppView sorts and filters on the earlier of createdAt and indexedAt
            return min(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
                       for t in (p["record"]["createdAt"], p["indexedAt"]))

        hits = sorted((p for p in self.posts if args["q"].lower() in p["record"]["text"].lower()
                       and sort_at(p) >= since), key=lambda p: -sort_at(p))
        offset, limit = int(args.get("cursor", 0)), int(args.get("limit", 25))
        page = hits[offset:offset + limit]
        body = {"posts": page} | ({"cursor": str(offset + limit)} if offset + limit < len(hits) else {})
        return Response(json.dumps(body), content_type=JSON, headers={
            "RateLimit-Limit": "3000", "RateLimit-Remaining": "2990", "RateLimit-Reset": "1795166300",
            "RateLimit-Policy": "3000;w=300"})


def make_source(client, server, pds: FakePDS, password="app-pass-1234", brands=ACME,
                **options):
    server.expect_request(re.compile("^/xrpc/")).respond_with_handler(pds)
    config = BlueskyConfig.model_validate({"type": "bluesky", "identifier": "acme-watch.bsky.social",
                                           "app_password": password, "service_url": server.url_for(""), **options})
    source = registry.lookup(registry.SOURCES, "bluesky").factory(
        "bsky_test", config, PluginContext(http=client, brands=tuple(brands)))
    source.clock = lambda: NOW
    return source


def methods(pds: FakePDS) -> list[str]:
    return [m.rsplit(".", 1)[1] for m, _ in pds.calls]


async def test_maps_posts_with_follower_counts(httpserver, client):
    pds = FakePDS(POSTS)
    pds.followers = {"did:plc:aaaa1111bbbb2222cccc3333": 4200}
    result = await make_source(client, httpserver, pds).fetch(SourceState("bsky_test"))

    posts = {p.id.rsplit("/", 1)[1]: p for p in result.posts}
    assert set(posts) == {"3m5acmeoutage2", "3m5acmereply01"}  # the logged-in-only author is left out
    first, reply = posts["3m5acmeoutage2"], posts["3m5acmereply01"]
    assert first.url == "https://bsky.app/profile/maria.example.com/post/3m5acmeoutage2"
    assert first.text == "Tercer día sin servicio de Acme. Nadie responde en soporte 😡"
    assert first.published_at == datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)  # indexedAt
    assert (first.author.handle, first.author.display_name, first.author.followers) == \
        ("maria.example.com", "María Q.", 4200)
    assert (first.engagement.likes, first.engagement.reposts, first.engagement.replies) == (14, 6, 2)
    assert first.lang_hint == "es" and first.platform == "bluesky"
    assert reply.url == "https://bsky.app/profile/did:plc:dddd4444eeee5555ffff6666/post/3m5acmereply01"
    assert reply.author.followers is None and reply.raw["reply_parent"].endswith("3m5acmeoutage2")
    assert methods(pds) == ["createSession", "searchPosts", "getProfiles"]
    search = pds.calls[1][1]
    assert search["sort"] == ["latest"] and search["q"] == ["Acme"] and search["since"] == ["2026-11-20T08:13:20.000Z"]


async def test_logged_in_only_authors_can_be_included(httpserver, client):
    source = make_source(client, httpserver, FakePDS(POSTS), include_logged_in_only=True, follower_counts=False)
    result = await source.fetch(SourceState("bsky_test"))
    assert len(result.posts) == 3


async def test_session_is_reused_and_cursor_advances_without_duplicates(httpserver, client):
    pds = FakePDS([post(n, NOW - 900 + n) for n in range(1, 6)])
    source = make_source(client, httpserver, pds, limit=2)
    first = await source.fetch(SourceState("bsky_test"))
    assert sorted(p.id[-2:] for p in first.posts) == ["04", "05"]

    pds.posts += [post(n, NOW - 300 + n) for n in range(10, 15)]
    second = await source.fetch(SourceState("bsky_test", cursor=first.cursor))
    assert sorted(p.id[-2:] for p in second.posts) == ["10", "11", "12", "13", "14"]
    third = await source.fetch(SourceState("bsky_test", cursor=second.cursor))
    assert third.posts == []
    assert methods(pds).count("createSession") == 1
    assert [c.get("cursor") for m, c in pds.calls if m.endswith("searchPosts")][1:4] == [None, ["2"], ["4"]]


async def test_profiles_are_batched_and_cached(httpserver, client):
    pds = FakePDS([post(n, NOW - 100 + n) for n in range(30)])
    pds.followers = {f"did:plc:user{n:020d}": n for n in range(30)}
    source = make_source(client, httpserver, pds, limit=100)
    result = await source.fetch(SourceState("bsky_test"))
    assert sorted(p.author.followers for p in result.posts) == list(range(30))
    assert [len(c["actors"]) for m, c in pds.calls if m.endswith("getProfiles")] == [25, 5]
    # a known author: no profile lookup within the TTL
    pds.posts.append(post(3, NOW - 10, text="acme once more", rkey="3m5second"))
    calls = len(pds.calls)
    again = await source.fetch(SourceState("bsky_test", cursor=result.cursor))
    assert [p.author.followers for p in again.posts] == [3]
    assert methods(pds)[calls:] == ["searchPosts"]
    source.clock = lambda: NOW + 7 * 3600  # past the 6 h TTL
    pds.posts.append(post(3, NOW + 7 * 3600 - 5, text="acme yet again", rkey="3m5third"))
    await source.fetch(SourceState("bsky_test", cursor=again.cursor))
    assert methods(pds)[-1] == "getProfiles"


async def test_expired_access_token_is_refreshed(httpserver, client):
    pds = FakePDS([post(1, NOW - 60)])
    source = make_source(client, httpserver, pds, follower_counts=False)
    await source.fetch(SourceState("bsky_test"))
    pds.expire_access()
    result = await source.fetch(SourceState("bsky_test"))
    assert len(result.posts) == 1
    assert methods(pds) == ["createSession", "searchPosts", "searchPosts", "refreshSession", "searchPosts"]


async def test_failed_refresh_falls_back_to_login(httpserver, client):
    pds = FakePDS([post(1, NOW - 60)])
    source = make_source(client, httpserver, pds, follower_counts=False)
    await source.fetch(SourceState("bsky_test"))
    pds.expire_access(refresh_too=True)
    result = await source.fetch(SourceState("bsky_test"))
    assert len(result.posts) == 1
    assert methods(pds)[2:] == ["searchPosts", "refreshSession", "createSession", "searchPosts"]


async def test_revoked_session_logs_in_again_then_gives_up(httpserver, client):
    pds = FakePDS([post(1, NOW - 60)])
    source = make_source(client, httpserver, pds, follower_counts=False)
    await source.fetch(SourceState("bsky_test"))
    pds.access.clear()  # the session was revoked (401 AuthenticationRequired), the app password still works
    assert len((await source.fetch(SourceState("bsky_test"))).posts) == 1
    assert methods(pds)[2:] == ["searchPosts", "createSession", "searchPosts"]
    pds.password = "revoked"
    pds.access.clear()
    with pytest.raises(AuthFailedError, match=r"identifier/app_password rejected \(HTTP 401\)"):
        await source.fetch(SourceState("bsky_test"))


async def test_tokens_that_are_always_expired_fail_cleanly(httpserver, client):
    pds = FakePDS([post(1, NOW - 60)])
    pds.issue_expired = True
    source = make_source(client, httpserver, pds, follower_counts=False)
    with pytest.raises(AuthFailedError, match="clock"):
        await source.fetch(SourceState("bsky_test"))
    assert methods(pds) == ["createSession", "searchPosts", "refreshSession", "searchPosts", "refreshSession",
                            "searchPosts"]


async def test_wrong_app_password_names_the_credential(httpserver, client):
    source = make_source(client, httpserver, FakePDS([]), password="wrong")
    with pytest.raises(AuthFailedError, match=r"bluesky: identifier/app_password rejected \(HTTP 401\)"):
        await source.fetch(SourceState("bsky_test"))


async def test_429_5xx_and_size_cap(httpserver, client):
    pds = FakePDS([post(n, NOW - n) for n in range(1, 80)])
    httpserver.expect_oneshot_request("/xrpc/app.bsky.feed.searchPosts").respond_with_response(Response(
        json.dumps({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}), status=429,
        content_type=JSON, headers={"Retry-After": "120", "RateLimit-Remaining": "0"}))
    httpserver.expect_oneshot_request("/xrpc/app.bsky.feed.searchPosts").respond_with_data(
        "upstream failure", status=500)
    source = make_source(client, httpserver, pds)
    with pytest.raises(RateLimitedError) as caught:
        await source.fetch(SourceState("bsky_test"))
    assert caught.value.retry_after == 120
    with pytest.raises(TransientError):
        await source.fetch(SourceState("bsky_test"))
    small = make_source(client, httpserver, pds, max_bytes=4000, limit=100)
    with pytest.raises(PermanentError, match="cap"):
        await small.fetch(SourceState("bsky_test"))


async def test_profile_lookup_failure_keeps_the_posts(httpserver, client):
    httpserver.expect_oneshot_request("/xrpc/app.bsky.actor.getProfiles").respond_with_data("busy", status=503)
    result = await make_source(client, httpserver, FakePDS([post(1, NOW - 60)])).fetch(SourceState("bsky_test"))
    assert [p.author.followers for p in result.posts] == [None]


def test_config_needs_identifier_and_app_password(tmp_path):
    with pytest.raises(ValidationError):
        BlueskyConfig.model_validate({"type": "bluesky", "identifier": "x.bsky.social"})
    (tmp_path / "pw").write_text("abcd-efgh-ijkl-mnop\n")
    config = BlueskyConfig.model_validate({"type": "bluesky", "identifier": "x.bsky.social",
                                           "app_password_file": str(tmp_path / "pw")})
    assert config.app_password.get_secret_value() == "abcd-efgh-ijkl-mnop"
    assert config.service_url == "https://bsky.social"
