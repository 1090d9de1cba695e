"""VK source against a fake VK API (newsfeed.search, wall.get, wall.getComments) served over loopback.

The bodies in data/vk_*.json follow the published VK API reference (v5.199): errors come with HTTP 200."""
from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, ConfigError, PermanentError, RateLimitedError
from monitor.registry import PluginContext
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.sources.vk import VkConfig

DATA = Path(__file__).parent / "data"
NOW = 1795166000.0
TOKEN = "vk1.a.service-key-Xq81"
OWNER = -22822305
BRANDS = (BrandConfig(name="Акме"),)


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


class FakeVk:
    """The three methods, with the paging the reference describes: newsfeed.search newest first with next_from,
    wall.getComments with sort and start_comment_id. An error code per method can be set."""

    def __init__(self):
        search = load("vk_newsfeed_search.json")["response"]
        self.posts, self.people = search["items"], {"profiles": search["profiles"], "groups": search["groups"]}
        self.wall = load("vk_wall_get.json")
        comments = load("vk_wall_getComments.json")["response"]
        self.comments = comments["items"]
        self.comment_people = {"profiles": comments["profiles"], "groups": comments["groups"]}
        self.errors: dict[str, int] = {}
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, request: Request) -> Response:
        method, form = request.path.rsplit("/", 1)[-1], request.form.to_dict()
        self.calls.append((method, form))
        if request.args or form.get("v") != "5.199":
            return self._error(method, 8)
        if form.get("access_token") != TOKEN:
            return self._error(method, 5, "vk_error_5.json")
        if method in self.errors:
            return self._error(method, self.errors[method], f"vk_error_{self.errors[method]}.json")
        if method == "wall.get":
            return self._reply(self.wall)
        body = self._search(form) if method == "newsfeed.search" else self._get_comments(form)
        return self._reply({"response": body})

    def _search(self, form: dict) -> dict:
        found = sorted((p for p in self.posts if form["q"].lower() in p["text"].lower()
                        and p["date"] >= int(form["start_time"])), key=lambda p: -p["date"])
        offset, count = int(form.get("start_from") or 0), int(form["count"])
        page = {"items": found[offset:offset + count], "count": len(found), "total_count": len(found),
                **self.people}
        if offset + count < len(found):
            page["next_from"] = str(offset + count)
        return page

    def _get_comments(self, form: dict) -> dict:
        found = sorted((c for c in self.comments if c["post_id"] == int(form["post_id"])),
                       key=lambda c: c["id"], reverse=form.get("sort") == "desc")
        if "start_comment_id" in form:
            found = [c for c in found if c["id"] >= int(form["start_comment_id"])]
        return {"count": len(found), "items": found[:int(form["count"])], **self.comment_people}

    def _error(self, method: str, code: int, name: str = "") -> Response:
        body = load(name) if name else {"error": {"error_code": code, "error_msg": "Invalid request"}}
        for param in body["error"].get("request_params", []):
            param["value"] = method if param["key"] == "method" else param["value"]
        return self._reply(body)

    @staticmethod
    def _reply(body: dict) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8")


@pytest.fixture
def vk(httpserver) -> FakeVk:
    fake = FakeVk()
    httpserver.expect_request(re.compile("^/method/")).respond_with_handler(fake)
    return fake


def make_source(httpserver, client, **options):
    config = VkConfig.model_validate({"type": "vk", "access_token": TOKEN, "api_url": httpserver.url_for("/method"),
                                      "owner_id": OWNER, **options})
    source = registry.lookup(registry.SOURCES, "vk").factory("vk_test", config, PluginContext(client, BRANDS))
    source.clock = lambda: NOW
    return source


async def test_maps_search_results_and_wall_comments(httpserver, client, vk):
    result = await make_source(httpserver, client).fetch(SourceState("vk_test"))

    by_id = {p.id: p for p in result.posts}
    assert set(by_id) == {"150117482_4512", "-51234567_981", f"{OWNER}_7001_7010"}  # not the community's reply
    post = by_id["150117482_4512"]
    assert (post.platform, post.url) == ("vk", "https://vk.com/wall150117482_4512")
    assert post.text.startswith("Акме, третий день нет интернета")
    assert (post.author.handle, post.author.display_name) == ("olga.smirnova", "Ольга Смирнова")
    assert (post.engagement.likes, post.engagement.reposts, post.engagement.replies) == (17, 2, 3)
    assert post.published_at == datetime(2026, 11, 20, 9, 10, tzinfo=UTC)
    assert post.lang_hint is None
    assert by_id["-51234567_981"].author.display_name == "Тарифы и связь"
    comment = by_id[f"{OWNER}_7001_7010"]
    assert comment.url == f"https://vk.com/wall{OWNER}_7001?reply=7010"
    assert (comment.author.handle, comment.author.display_name) == ("id305119", "Игорь Петров")
    assert (comment.engagement.likes, comment.engagement.replies) == (6, 1)

    assert [m for m, _ in vk.calls] == ["newsfeed.search", "wall.get", "wall.getComments"]  # post 6998: none
    search = vk.calls[0][1]
    assert (search["q"], search["extended"], search["start_time"]) == ("Акме", "1", str(int(NOW - 3600)))


async def test_cursor_resumes_a_long_sweep_and_then_only_new_items(httpserver, client, vk):
    source = make_source(httpserver, client, count=1, max_pages=1)
    first = await source.fetch(SourceState("vk_test"))
    assert {p.id for p in first.posts} == {"150117482_4512", f"{OWNER}_7001_7010"}

    second = await source.fetch(SourceState("vk_test", cursor=first.cursor))  # the older result, not skipped
    assert [p.id for p in second.posts] == ["-51234567_981"]
    assert vk.calls[-3][1]["start_from"] == "1"

    newer = copy.deepcopy(vk.posts[0]) | {"id": 4513, "date": int(NOW) + 60, "text": "Акме, спасибо, заработало"}
    vk.posts.append(newer)
    vk.comments.append(copy.deepcopy(vk.comments[0]) | {"id": 7012, "date": int(NOW) + 30})
    third = await source.fetch(SourceState("vk_test", cursor=second.cursor))
    assert {p.id for p in third.posts} == {"150117482_4513", f"{OWNER}_7001_7012"}
    assert vk.calls[-3][1]["start_time"] == "1795165800" and "start_from" not in vk.calls[-3][1]
    assert vk.calls[-1][1]["start_comment_id"] == "7011"

    fourth = await source.fetch(SourceState("vk_test", cursor=third.cursor))
    assert fourth.posts == []


async def test_a_search_cursor_of_the_older_format_still_resumes_its_sweep(httpserver, client, vk):
    old = {"search": {"Акме": {"start_time": int(NOW) - 3600, "skip": [], "newest": 1795165800,
                               "newest_ids": ["150117482_4512"], "next_from": "1"}}}
    source = make_source(httpserver, client, count=1, max_pages=1, owner_id=None)
    resumed = await source.fetch(SourceState("vk_test", cursor=json.dumps(old)))
    assert [p.id for p in resumed.posts] == ["-51234567_981"] and vk.calls[0][1]["start_from"] == "1"
    assert (await source.fetch(SourceState("vk_test", cursor=resumed.cursor))).posts == []
    assert vk.calls[-1][1]["start_time"] == "1795165800" and "start_from" not in vk.calls[-1][1]


@pytest.mark.parametrize(("code", "retry_after"), [(6, None), (29, 3600.0)])
async def test_rate_limit_errors_wait(httpserver, client, vk, code, retry_after):
    vk.errors["newsfeed.search"] = code
    with pytest.raises(RateLimitedError, match=f"vk newsfeed.search: error {code}") as caught:
        await make_source(httpserver, client).fetch(SourceState("vk_test"))
    assert caught.value.retry_after == retry_after


async def test_a_rejected_token_parks_the_source_without_showing_it(httpserver, client, vk):
    source = make_source(httpserver, client)
    source.config = source.config.model_copy(update={"access_token": SecretStr("vk1.a.revoked-key")})
    with pytest.raises(AuthFailedError, match="error 5: User authorization failed.*check access_token") as caught:
        await source.fetch(SourceState("vk_test"))
    assert "revoked-key" not in str(caught.value)


async def test_a_closed_wall_is_a_permanent_error_with_the_reason(httpserver, client, vk):
    vk.errors["wall.getComments"] = 15
    with pytest.raises(PermanentError, match="vk wall.getComments: error 15: Access denied: group hide wall"):
        await make_source(httpserver, client).fetch(SourceState("vk_test"))


def test_check_names_file_line_and_field():
    with pytest.raises(ConfigError) as caught:
        parse_settings("brands: [{name: Acme}]\nsources:\n  vk:\n    type: vk\n    owner_id: acme\n", "config.yaml")
    assert caught.value.problems == [
        "config.yaml:3: sources.vk.access_token: required field is missing",
        "config.yaml:5: sources.vk.owner_id: Input should be a valid integer, unable to parse string as an integer"]
    with pytest.raises(ConfigError, match=r"config.yaml:3: sources.vk: search is off and no owner_id is given"):
        parse_settings("brands: [{name: Acme}]\nsources:\n  vk:\n    type: vk\n    access_token: t\n"
                       "    search: false\n", "config.yaml")
