"""Mastodon source against fake Mastodon instances (tag timeline, v2 search) served over loopback."""
from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.registry import PluginContext
from monitor.settings import BrandConfig
from monitor.sources.base import SourceState
from monitor.sources.mastodon import MastodonConfig, hashtags_for

DATA = Path(__file__).parent / "social_data"
TEMPLATE = json.loads((DATA / "mastodon_status.json").read_text())
NOW = 1795166000.0
JSON = "application/json; charset=utf-8"


def status(n: int, host: str = "social.example", tag: str = "acme", text: str = "Acme is down", **extra) -> dict:
    s = copy.deepcopy(TEMPLATE)
    s.update(id=str(113500000000000000 + n), content=f"<p>{text} #{tag}</p>",
             uri=f"https://{host}/users/kundin/statuses/{n}", url=f"https://{host}/@kundin/{n}",
             tags=[{"name": tag, "url": f"https://{host}/tags/{tag}"}], **extra)
    return s

ACME = (BrandConfig(name="Acme"),)


class FakeInstance:
    """One Mastodon server: tag timelines (public or token-only), v2 search (token only), id paging, rate headers."""

    def __init__(self, statuses: list[dict], token: str | None = None, public_tags: bool = True):
        self.statuses = list(statuses)
        self.token, self.public_tags = token, public_tags
        self.requests: list[tuple[str, dict]] = []
        self.remaining = 299
        self.fail_with: int | None = None

    def handle(self, request: Request, path: str) -> Response:
        args = request.args.to_dict()
        self.requests.append((path, args))
        if self.fail_with:
            return Response("<html>error</html>", status=self.fail_with, headers={"Retry-After": "60"})
        authorized = self.token is not None and request.headers.get("Authorization") == f"Bearer {self.token}"
        if request.headers.get("Authorization") and not authorized:
            return Response(json.dumps({"error": "The access token is invalid"}), status=401, content_type=JSON)
        if m := re.fullmatch(r"/api/v1/timelines/tag/(.+)", path):
            if not (self.public_tags or authorized):
                return Response(json.dumps({"error": "This method requires an authenticated user"}), status=401,
                                content_type=JSON)
            found = [s for s in self.statuses if m.group(1).lower() in {t["name"] for t in s["tags"]}]
            return self._page(self._window(found, args))
        if path == "/api/v2/search" and authorized:
            found = [s for s in self.statuses if args["q"].lower() in s["content"].lower()]
            return self._page({"accounts": [], "statuses": self._window(found, args), "hashtags": []})
        return Response(json.dumps({"error": "Record not found"}), status=404, content_type=JSON)

    def _window(self, found: list[dict], args: dict) -> list[dict]:
        found = sorted(found, key=lambda s: -int(s["id"]))
        limit = int(args.get("limit", 20))
        if "min_id" in args:  # the statuses immediately newer than min_id, still newest first
            newer = [s for s in found if int(s["id"]) > int(args["min_id"])]
            return newer[-limit:]
        if "since_id" in args:
            found = [s for s in found if int(s["id"]) > int(args["since_id"])]
        return found[:limit]

    def _page(self, body) -> Response:
        self.remaining -= 1
        return Response(json.dumps(body), content_type=JSON, headers={
            "x-ratelimit-limit": "300", "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": "2026-11-20T09:20:00.000Z", "etag": 'W/"abc"', "cache-control": "private, no-store"})


class FakeFediverse:
    def __init__(self, **instances: FakeInstance):
        self.instances = instances

    def __call__(self, request: Request) -> Response:
        name, _, rest = request.path.lstrip("/").partition("/")
        return self.instances[name].handle(request, "/" + rest)


def make_source(client, server, fediverse: FakeFediverse, tokens=None, brands=ACME,
                **options):
    tokens = tokens or {}
    instances = [{"url": server.url_for(f"/{name}"), **({"access_token": tokens[name]} if name in tokens else {})}
                 for name in fediverse.instances]
    server.expect_request(re.compile("^/")).respond_with_handler(fediverse)
    config = MastodonConfig.model_validate({"type": "mastodon", "instances": instances, **options})
    source = registry.lookup(registry.SOURCES, "mastodon").factory(
        "masto_test", config, PluginContext(http=client, brands=tuple(brands)))
    source.clock = lambda: NOW
    return source


async def test_maps_a_tag_timeline_status(httpserver, client):
    inst = FakeInstance([TEMPLATE])
    source = make_source(client, httpserver, FakeFediverse(a=inst))
    result = await source.fetch(SourceState("masto_test"))

    [post] = result.posts
    assert post.platform == "mastodon" and post.id == TEMPLATE["uri"] and post.url == TEMPLATE["url"]
    assert post.text == ("Seit heute fr\u00fch kein Internet & die #Acme Hotline ist besetzt.\n"
                         "Details: https://status.acme.example/incident/7")
    assert post.published_at == datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    assert post.author.handle == f"kundin@{httpserver.host}:{httpserver.port}"
    assert (post.author.display_name, post.author.followers) == ("Eine Kundin", 1520)
    assert (post.engagement.likes, post.engagement.reposts, post.engagement.replies) == (30, 12, 4)
    assert post.lang_hint == "de" and post.raw["status_id"] == TEMPLATE["id"]
    assert inst.requests == [("/api/v1/timelines/tag/acme", {"limit": "20"})]


async def test_cursor_pages_forward_with_min_id_and_never_repeats(httpserver, client):
    inst = FakeInstance([status(n) for n in range(1, 6)])
    source = make_source(client, httpserver, FakeFediverse(a=inst), first_limit=2, limit=3)
    first = await source.fetch(SourceState("masto_test"))
    assert sorted(p.id.rsplit("/", 1)[1] for p in first.posts) == ["4", "5"]

    inst.statuses += [status(n) for n in range(6, 13)]  # 7 new: three pages of 3
    second = await source.fetch(SourceState("masto_test", cursor=first.cursor))
    assert sorted(int(p.id.rsplit("/", 1)[1]) for p in second.posts) == list(range(6, 13))
    assert [a.get("min_id", "")[-2:] for _, a in inst.requests[1:]] == ["05", "08", "11"]

    third = await source.fetch(SourceState("masto_test", cursor=second.cursor))
    assert third.posts == []
    [mark] = json.loads(third.cursor).values()
    assert mark == {"tag:acme": str(113500000000000012)}


async def test_first_poll_skips_old_statuses_but_sets_the_cursor(httpserver, client):
    old = status(1, created_at="2026-06-01T10:00:00.000Z")
    inst = FakeInstance([old, status(2)])
    source = make_source(client, httpserver, FakeFediverse(a=inst))
    first = await source.fetch(SourceState("masto_test"))
    assert [p.id.rsplit("/", 1)[1] for p in first.posts] == ["2"]
    inst.statuses.append(status(3))
    second = await source.fetch(SourceState("masto_test", cursor=first.cursor))
    assert [p.id.rsplit("/", 1)[1] for p in second.posts] == ["3"]


async def test_token_adds_search_and_dedups_across_instances(httpserver, client):
    shared = status(1, text="Acme billing broke")
    a = FakeInstance([shared, status(2, tag="other", text="acme support is slow")], token="tok-a")
    b = FakeInstance([copy.deepcopy(shared)])
    source = make_source(client, httpserver, FakeFediverse(a=a, b=b), tokens={"a": "tok-a"})
    result = await source.fetch(SourceState("masto_test"))
    assert sorted(p.id.rsplit("/", 1)[1] for p in result.posts) == ["1", "2"]  # 1 seen on both instances
    assert [p for p, _ in a.requests] == ["/api/v1/timelines/tag/acme", "/api/v2/search"]
    assert a.requests[1][1]["type"] == "statuses" and a.requests[1][1]["q"] == "Acme"
    assert [p for p, _ in b.requests] == ["/api/v1/timelines/tag/acme"]  # no token: no search there
    assert set(json.loads(result.cursor)[httpserver.url_for("/a")]) == {"tag:acme", "search:Acme"}


async def test_one_failing_instance_does_not_lose_the_others(httpserver, client):
    good, bad = FakeInstance([status(1)]), FakeInstance([status(2)])
    bad.fail_with = 502
    source = make_source(client, httpserver, FakeFediverse(good=good, bad=bad))
    with capture_logs() as logs:
        first = await source.fetch(SourceState("masto_test"))
    assert [p.id.rsplit("/", 1)[1] for p in first.posts] == ["1"]
    [failed] = [e for e in logs if e["event"] == "source_instance_failed"]
    assert failed["instance"] == f"{httpserver.host}:{httpserver.port}" and failed["error_kind"] == "TransientError"
    assert list(json.loads(first.cursor)) == [httpserver.url_for("/good")]

    with capture_logs() as logs:  # still failing: not logged again
        again = await source.fetch(SourceState("masto_test", cursor=first.cursor))
    assert again.posts == [] and logs == []

    bad.fail_with = None  # recovered: its posts arrive now, the good one has nothing new
    with capture_logs() as logs:
        second = await source.fetch(SourceState("masto_test", cursor=again.cursor))
    assert [p.id.rsplit("/", 1)[1] for p in second.posts] == ["2"]
    assert [e["event"] for e in logs] == ["source_instance_recovered"]


async def test_all_instances_failing_raises(httpserver, client):
    a, b = FakeInstance([]), FakeInstance([])
    a.fail_with, b.fail_with = 500, 429
    with pytest.raises(TransientError):
        await make_source(client, httpserver, FakeFediverse(a=a, b=b)).fetch(SourceState("masto_test"))
    a.fail_with = 429
    with pytest.raises(RateLimitedError) as caught:
        await make_source(client, httpserver, FakeFediverse(a=a)).fetch(SourceState("masto_test"))
    assert caught.value.retry_after == 60


async def test_auth_errors_say_which_credential(httpserver, client):
    locked = FakeInstance([status(1)], token="right", public_tags=False)
    with pytest.raises(AuthFailedError, match=r"requires an access_token .*HTTP 401"):
        await make_source(client, httpserver, FakeFediverse(x=locked)).fetch(SourceState("masto_test"))
    httpserver.clear()
    with pytest.raises(AuthFailedError, match=r"mastodon: access_token for [\w.]+:\d+ rejected \(HTTP 401\)"):
        await make_source(client, httpserver, FakeFediverse(x=locked), tokens={"x": "wrong"}).fetch(
            SourceState("masto_test"))
    httpserver.clear()
    source = make_source(client, httpserver, FakeFediverse(x=locked), tokens={"x": "right"})
    assert len((await source.fetch(SourceState("masto_test"))).posts) == 1


async def test_noindex_private_and_reblogs(httpserver, client):
    hidden = status(1)
    hidden["account"] = {**hidden["account"], "noindex": True}
    boost = status(3, reblog=status(2, host="other.example"))
    inst = FakeInstance([hidden, status(4, visibility="direct"), boost])
    result = await make_source(client, httpserver, FakeFediverse(a=inst)).fetch(SourceState("masto_test"))
    assert [p.url for p in result.posts] == ["https://other.example/@kundin/2"]  # the boosted original


async def test_low_quota_and_size_cap(httpserver, client):
    inst = FakeInstance([status(n) for n in range(1, 30)])
    inst.remaining = 2
    result = await make_source(client, httpserver, FakeFediverse(a=inst)).fetch(SourceState("masto_test"))
    assert result.min_next_poll == pytest.approx(1795166400.0 - NOW)
    httpserver.clear()
    with pytest.raises(PermanentError, match="cap"):
        await make_source(client, httpserver, FakeFediverse(a=inst), max_bytes=5000).fetch(SourceState("m"))


def test_hashtags_and_config(tmp_path):
    assert hashtags_for(["Acme Corp", "#acme", "acme_corp", "شاتل", "Ölgerð!", "--"]) == \
        ["acmecorp", "acme", "acme_corp", "شاتل", "ölgerð"]
    (tmp_path / "tok").write_text("secret-token\n")
    config = MastodonConfig.model_validate({"type": "mastodon", "instances": [
        "mastodon.social", {"url": "https://fosstodon.org/", "access_token_file": str(tmp_path / "tok")}]})
    assert [i.url for i in config.instances] == ["https://mastodon.social", "https://fosstodon.org"]
    assert config.instances[1].access_token.get_secret_value() == "secret-token"
    with pytest.raises(ValidationError):
        MastodonConfig.model_validate({"type": "mastodon", "instances": []})
    with pytest.raises(ValidationError):
        MastodonConfig.model_validate({"type": "mastodon", "instances": [{"url": "x", "token": "y"}]})
