"""github source against a real HTTP server on 127.0.0.1 serving hand-written /search/issues bodies."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from structlog.testing import capture_logs
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, ConfigError, PermanentError, RateLimitedError, TransientError
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.sources.github import GitHubConfig, make_github

DATA = Path(__file__).parent / "more_data"
NOW = 1767268800.0  # 2026-01-01T12:00:00Z
BRANDS = (BrandConfig(name="Acme", keywords=["Acme", "AcmeCloud"]),)
RATE = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "25", "X-RateLimit-Reset": str(int(NOW) + 40)}


def body(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def reply(data: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(data), status=status,
                    headers={"Content-Type": "application/json; charset=utf-8", **RATE, **(headers or {})})


def empty() -> dict:
    return {"total_count": 0, "incomplete_results": False, "items": []}


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


def make(httpserver: HTTPServer, client: httpx.AsyncClient, **options):
    raw = {"type": "github", "api_url": httpserver.url_for("/"), **options}
    ctx = registry.PluginContext(http=client, brands=BRANDS)
    source = make_github("gh_test", GitHubConfig.model_validate(raw), ctx)
    source.clock = lambda: NOW
    return source


def serve(httpserver: HTTPServer, responder) -> list[Request]:
    calls: list[Request] = []

    def handler(request: Request) -> Response:
        calls.append(request)
        return responder(request.args["q"])
    httpserver.expect_request("/search/issues").respond_with_handler(handler)
    return calls


async def test_maps_fields_and_builds_one_query_per_kind_and_term(httpserver, client):
    page = body("synthetic_github_search_issues.json")
    calls = serve(httpserver, lambda q: reply(page if q.startswith('"Acme" ') and "is:issue" in q else empty()))
    source = make(httpserver, client, token="ghp_secret", qualifiers="-org:acme")

    result = await source.fetch(SourceState("gh_test"))

    queries = [c.args["q"] for c in calls]
    assert queries == [
        '"Acme" in:title,body is:issue created:>=2025-12-31T11:55:00+00:00 -org:acme',
        '"AcmeCloud" in:title,body is:issue created:>=2025-12-31T11:55:00+00:00 -org:acme',
        '"Acme" in:title,body is:pull-request created:>=2025-12-31T11:55:00+00:00 -org:acme',
        '"AcmeCloud" in:title,body is:pull-request created:>=2025-12-31T11:55:00+00:00 -org:acme',
    ]
    assert (calls[0].args["sort"], calls[0].args["order"], calls[0].args["per_page"]) == ("created", "desc", "100")
    assert calls[0].headers["Authorization"] == "Bearer ghp_secret"
    assert calls[0].headers["Accept"] == "application/vnd.github+json"
    issue, pr = result.posts
    assert (issue.id, issue.platform, issue.url) == ("3300000412", "github", "https://github.com/octo-org/widgets/issues/412")
    assert issue.title == "Acme webhook deliveries time out since v2.3"
    assert issue.text == "**Describe the bug**\nAcme webhooks fail with `ETIMEDOUT`."
    assert issue.author.handle == "mona-example"
    assert issue.published_at == datetime(2026, 1, 1, 11, 30, tzinfo=UTC)
    assert (issue.engagement.likes, issue.engagement.replies) == (7, 4)
    assert issue.raw["repository"] == "octo-org/widgets" and issue.raw["is_pull_request"] is False
    assert pr.raw["is_pull_request"] is True and pr.text == ""
    assert result.min_next_poll is None


async def test_second_poll_overlaps_the_index_lag_without_duplicates(httpserver, client):
    page = body("synthetic_github_search_issues.json")
    late = copy.deepcopy(page["items"][1])
    late.update(id=3300000010, html_url="https://github.com/someone/dotfiles/issues/10",
                created_at="2026-01-01T11:29:00Z")
    responses = iter([page, {**page, "items": [page["items"][0], late]}])
    calls = serve(httpserver, lambda q: reply(next(responses)))
    source = make(httpserver, client, kinds=["issue"], brands=[], index_lag="10m")
    source.terms = ["Acme"]

    first = await source.fetch(SourceState("gh_test"))
    second = await source.fetch(SourceState("gh_test", cursor=first.cursor))

    assert len(first.posts) == 2
    assert [p.id for p in second.posts] == ["3300000010"], "a late-indexed item inside the window is reported once"
    assert "created:>=2026-01-01T11:20:00+00:00" in calls[1].args["q"]
    cursor = json.loads(second.cursor)
    assert set(cursor["seen"]) == {"3300000412", "3300000010"}  # the 09:00 item fell out of the window


async def test_token_is_optional(httpserver, client):
    calls = serve(httpserver, lambda q: reply(empty()))
    await make(httpserver, client, kinds=["pr"]).fetch(SourceState("gh_test"))
    assert "Authorization" not in calls[0].headers


async def test_remaining_zero_on_last_request_sets_min_next_poll(httpserver, client):
    page = body("synthetic_github_search_issues.json")
    serve(httpserver, lambda q: reply(page, headers={"X-RateLimit-Remaining": "0"}))
    source = make(httpserver, client, kinds=["issue"])
    source.terms = ["Acme"]
    result = await source.fetch(SourceState("gh_test"))
    assert len(result.posts) == 2 and result.min_next_poll == 40


async def test_remaining_zero_with_queries_left_raises_rate_limited(httpserver, client):
    calls = serve(httpserver, lambda q: reply(empty(), headers={"X-RateLimit-Remaining": "0"}))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("gh_test"))
    assert info.value.retry_after == 40 and len(calls) == 1


async def test_primary_rate_limit_403_waits_until_reset(httpserver, client):
    serve(httpserver, lambda q: reply(body("synthetic_github_primary_rate_limit.json"), 403,
                                      {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 55)}))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("gh_test"))
    assert info.value.retry_after == 55


async def test_secondary_rate_limit_with_retry_after(httpserver, client):
    serve(httpserver, lambda q: reply(body("synthetic_github_secondary_rate_limit.json"), 403, {"Retry-After": "90"}))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("gh_test"))
    assert info.value.retry_after == 90


async def test_secondary_rate_limit_message_without_headers_is_not_auth_failure(httpserver, client):
    serve(httpserver, lambda q: reply(body("synthetic_github_secondary_rate_limit.json"), 403))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client).fetch(SourceState("gh_test"))
    assert info.value.retry_after == 60


async def test_bad_credentials_name_the_token_without_leaking_it(httpserver, client):
    serve(httpserver, lambda q: reply(body("synthetic_github_bad_credentials.json"), 401))
    with pytest.raises(AuthFailedError) as info:
        await make(httpserver, client, token="ghp_leaky").fetch(SourceState("gh_test"))
    assert "'token'" in str(info.value) and "ghp_leaky" not in str(info.value)


async def test_forbidden_without_rate_limit_signs_is_auth_failure(httpserver, client):
    serve(httpserver, lambda q: reply({"message": "Resource not accessible by personal access token"}, 403))
    with pytest.raises(AuthFailedError):
        await make(httpserver, client, token="t").fetch(SourceState("gh_test"))


async def test_validation_failed_is_permanent(httpserver, client):
    serve(httpserver, lambda q: reply(body("synthetic_github_validation_failed.json"), 422))
    with pytest.raises(PermanentError, match="qualifiers"):
        await make(httpserver, client).fetch(SourceState("gh_test"))


async def test_server_error_is_transient(httpserver, client):
    serve(httpserver, lambda q: Response("<html>unicorn</html>", status=502))
    with pytest.raises(TransientError):
        await make(httpserver, client).fetch(SourceState("gh_test"))


@pytest.mark.parametrize("payload", ["<html>not json</html>", '{"items": {}}', '{"items": [{"id": "x"}]}'])
async def test_malformed_body_is_permanent(httpserver, client, payload):
    serve(httpserver, lambda q: Response(payload, headers={"Content-Type": "application/json"}))
    with pytest.raises(PermanentError):
        await make(httpserver, client).fetch(SourceState("gh_test"))


async def test_full_pages_are_followed_up_to_max_pages(httpserver, client):
    item = body("synthetic_github_search_issues.json")["items"][0]
    items = [{**item, "id": i, "html_url": f"https://github.com/o/r/issues/{i}"} for i in range(100)]
    full = {**empty(), "items": items}
    calls = serve(httpserver, lambda q: reply(full))
    source = make(httpserver, client, kinds=["issue"], max_pages=2)
    source.terms = ["Acme"]
    with capture_logs() as logs:
        result = await source.fetch(SourceState("gh_test"))
    assert [c.args["page"] for c in calls] == ["1", "2"] and len(result.posts) == 100
    assert [e["event"] for e in logs] == ["source_results_truncated"]


def test_loads_through_the_settings_loader_with_a_token_file(tmp_path):
    (tmp_path / "gh_token").write_text("ghp_fromfile\n")
    settings = parse_settings(f"brands: [{{name: Acme}}]\nsources:\n"
                              f"  gh: {{type: github, token_file: {tmp_path / 'gh_token'}, kinds: [issue],"
                              " every: 10m}\n")
    config = settings.sources["gh"]
    assert isinstance(config, GitHubConfig) and config.token.get_secret_value() == "ghp_fromfile"
    assert config.every == 600 and "ghp_fromfile" not in repr(config)
    with pytest.raises(ConfigError, match="kinds"):
        parse_settings("brands: [{name: Acme}]\nsources:\n  gh: {type: github, kinds: [wiki]}\n")


def serve_graphql(httpserver: HTTPServer, responder) -> list[dict]:
    calls: list[dict] = []

    def handler(request: Request) -> Response:
        calls.append({"json": request.get_json(), "auth": request.headers.get("Authorization")})
        return responder(request.get_json()["variables"])
    httpserver.expect_request("/graphql", method="POST").respond_with_handler(handler)
    return calls


async def test_discussions_come_from_graphql_search(httpserver, client):
    calls = serve_graphql(httpserver, lambda v: reply(body("synthetic_github_graphql_discussions.json")))
    source = make(httpserver, client, kinds=["discussion"], token="ghp_x")
    source.terms = ["Acme"]

    first = await source.fetch(SourceState("gh_test"))

    (post,) = first.posts  # the empty node (a non-discussion result) is skipped
    assert calls[0]["auth"] == "Bearer ghp_x"
    assert "type: DISCUSSION" in calls[0]["json"]["query"]
    assert calls[0]["json"]["variables"]["q"] == \
        '"Acme" in:title,body sort:created-desc created:>=2025-12-31T11:55:00+00:00'
    assert (post.id, post.url) == ("D_kwDOSynthetic0001", "https://github.com/octo-org/widgets/discussions/77")
    assert post.text.startswith("Our deploys to the Acme EU region") and post.author.handle == "ops-olga"
    assert (post.engagement.likes, post.engagement.replies) == (8, 2) and post.raw["is_discussion"] is True
    assert post.published_at == datetime(2026, 1, 1, 11, 45, tzinfo=UTC)
    second = await source.fetch(SourceState("gh_test", cursor=first.cursor))
    assert second.posts == []


async def test_discussion_pages_follow_end_cursor(httpserver, client):
    page = body("synthetic_github_graphql_discussions.json")
    more = copy.deepcopy(page)
    more["data"]["search"]["pageInfo"] = {"hasNextPage": True, "endCursor": "Y3Vyc29yOjUw"}
    node = more["data"]["search"]["nodes"][0]
    last = copy.deepcopy(page)
    last["data"]["search"]["nodes"][0] = {**node, "id": "D_2", "url": "https://github.com/o/r/discussions/2"}
    calls = serve_graphql(httpserver, lambda v: reply(last if v["after"] else more))
    source = make(httpserver, client, kinds=["discussion"], token="t")
    source.terms = ["Acme"]
    result = await source.fetch(SourceState("gh_test"))
    assert [c["json"]["variables"]["after"] for c in calls] == [None, "Y3Vyc29yOjUw"]
    assert [p.id for p in result.posts] == ["D_kwDOSynthetic0001", "D_2"]


async def test_graphql_rate_limited_error_in_a_200(httpserver, client):
    serve_graphql(httpserver, lambda v: reply(body("synthetic_github_graphql_rate_limited.json"),
                                              headers={"X-RateLimit-Remaining": "0"}))
    with pytest.raises(RateLimitedError) as info:
        await make(httpserver, client, kinds=["discussion"], token="t").fetch(SourceState("gh_test"))
    assert info.value.retry_after == 40


async def test_graphql_query_error_is_permanent(httpserver, client):
    serve_graphql(httpserver, lambda v: reply(body("synthetic_github_graphql_parse_error.json")))
    with pytest.raises(PermanentError, match="INVALID_SEARCH"):
        await make(httpserver, client, kinds=["discussion"], token="t").fetch(SourceState("gh_test"))


def test_discussions_without_a_token_are_a_config_error():
    with pytest.raises(ConfigError, match="token"):
        parse_settings("brands: [{name: Acme}]\nsources:\n  gh: {type: github, kinds: [issue, discussion]}\n")
