"""Apprise, for real: its json:// and form:// plugins posting to a pytest-httpserver on 127.0.0.1."""
from __future__ import annotations

import base64
import json
import os
import sys

import pytest
from pydantic import ValidationError
from werkzeug import Request, Response

try:
    import apprise  # noqa: F401
except ImportError:
    MISSING_REASON = "the apprise package is not installed (pip install 'brand-monitor[apprise]')"
    if os.environ.get("BM_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{MISSING_REASON}\n(BM_REQUIRE_SERVERS=1: the apprise tests must run)", pytrace=False)
    pytest.skip(MISSING_REASON, allow_module_level=True)

from monitor.errors import ConfigError, TransientError
from monitor.notifiers.apprise import MAX_BODY, MISSING, AppriseConfig, make_apprise
from monitor.settings import parse_settings
from tests.notifiers.notifier_fakes import MENTION_TOKENS

USER, PASSWORD = "bmuser", "S3cretPassw0rdXYZ"


def json_url(httpserver, path: str = "/hook", query: str = "") -> str:
    return f"json://{USER}:{PASSWORD}@127.0.0.1:{httpserver.port}{path}{query}"


def notifier(ctx, *urls: str, **extra):
    config = AppriseConfig.model_validate({"type": "apprise", "urls": list(urls), **extra})
    return make_apprise("ap", config, ctx)


class Receiver:
    """Records what arrives; answers with the queued statuses, then 200."""

    def __init__(self, *statuses: int):
        self.requests: list[Request] = []
        self.statuses = list(statuses)

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return Response("boom" if status >= 400 else "ok", status=status)

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r.get_data()) for r in self.requests]


def receive(httpserver, path: str = "/hook", *statuses: int) -> Receiver:
    receiver = Receiver(*statuses)
    httpserver.expect_request(path, method="POST").respond_with_handler(receiver)
    return receiver


def assert_secret_free(exc: BaseException, httpserver) -> None:
    text = f"{exc} {exc!r}"
    for secret in (PASSWORD, USER, "json://", f"127.0.0.1:{httpserver.port}", f"{httpserver.port}"):
        assert secret not in text, f"{secret!r} leaked in {text!r}"


async def test_delivers_plain_text_with_every_mention_broken(httpserver, ctx, hostile_alert):
    got = receive(httpserver)
    delivery = await notifier(ctx, json_url(httpserver), title_prefix="[brand-monitor]").send(hostile_alert, "k")
    assert delivery.notifier_id == "ap" and delivery.alert_id == hostile_alert.id
    body = got.bodies[0]
    assert body["title"] == "[brand-monitor] 🔴 High · Acme · outage · urgent" and body["type"] == "failure"
    assert body["message"].startswith("Acme ") and "Acme is down" in body["message"]
    for token in MENTION_TOKENS:
        assert token not in body["message"] and token not in body["title"], token
    assert "\x1b" not in body["message"] and "\x07" not in body["message"]
    auth = got.requests[0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


async def test_over_long_text_is_capped(httpserver, ctx, long_alert):
    got = receive(httpserver)
    await notifier(ctx, json_url(httpserver)).send(long_alert, "k")
    message = got.bodies[0]["message"]
    assert 1000 < len(message) <= MAX_BODY and "@here" not in message
    assert len(got.bodies[0]["title"]) <= 250


async def test_server_error_is_transient_and_names_no_url(httpserver, ctx, alert):
    receive(httpserver, "/hook", 500)
    with pytest.raises(TransientError) as info:
        await notifier(ctx, json_url(httpserver)).send(alert, "k")
    assert "delivery failed for 1 of 1 URLs" in str(info.value) and "'ap'" in str(info.value)
    assert_secret_free(info.value, httpserver)


async def test_retry_skips_the_urls_that_already_took_the_alert(httpserver, ctx, alert):
    good, flaky = receive(httpserver, "/a"), receive(httpserver, "/b", 503)
    ap = notifier(ctx, json_url(httpserver, "/a"), json_url(httpserver, "/b"))
    with pytest.raises(TransientError, match="delivery failed for 1 of 2 URLs"):
        await ap.send(alert, "alert-1:ap")
    await ap.send(alert, "alert-1:ap")
    assert (len(good.requests), len(flaky.requests)) == (1, 2)
    await ap.send(alert, "alert-2:ap")  # another alert goes everywhere again
    assert (len(good.requests), len(flaky.requests)) == (2, 3)


async def test_timeout_is_transient(silent_url, ctx, alert):
    port = silent_url.rsplit(":", 1)[1]
    # Apprise's own read timeout (rto) ends the worker thread soon after ours fires
    ap = notifier(ctx, f"json://{USER}:{PASSWORD}@127.0.0.1:{port}/x?rto=1&cto=1", timeout="0.2s")
    with pytest.raises(TransientError, match="timed out after 0.2s") as info:
        await ap.send(alert, "k")
    assert PASSWORD not in str(info.value) and port not in str(info.value)


async def test_urls_file_one_per_line_with_comments(httpserver, ctx, alert, tmp_path):
    got_json, got_form = receive(httpserver, "/j"), receive(httpserver, "/f")
    urls = tmp_path / "apprise_urls"
    form_url = f"form://127.0.0.1:{httpserver.port}/f"
    urls.write_text(f"# destinations\n{json_url(httpserver, '/j')}\n\n  {form_url}  \n", encoding="utf-8")
    ap = make_apprise("ap", AppriseConfig.model_validate({"type": "apprise", "urls_file": str(urls)}), ctx)
    await ap.send(alert, "k")
    assert got_json.bodies[0]["title"].endswith("High · Acme · outage · urgent")
    form = got_form.requests[0].form
    assert form["title"].endswith("High · Acme · outage · urgent") and "@⁠everyone" in form["message"]


def test_urls_file_unreadable_names_the_key(tmp_path):
    with pytest.raises(ValidationError, match="urls_file: cannot read"):
        AppriseConfig.model_validate({"type": "apprise", "urls_file": str(tmp_path / "missing")})


def config_problems(url: str) -> list[str]:
    """What `brand-monitor check` prints (the loader reports pydantic's message, never its echo of the input)."""
    yaml = f"brands: [{{name: Acme}}]\nnotifiers:\n  tail:\n    type: apprise\n    urls: ['{url}']\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(yaml, "bm.yaml")
    return info.value.problems


@pytest.mark.parametrize("url, native", [
    ("https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX", "slack"),
    ("discord://1234/XXXXSECRETXXXX", "discord"),
    ("tgram://123456:XXXXSECRETXXXX/42", "telegram"),
    ("matrix://XXXXSECRETXXXX@matrix.example/!room", "matrix"),
])
def test_services_with_a_native_notifier_are_refused(url, native):
    [problem] = config_problems(url)
    assert problem.startswith(f"bm.yaml:3: notifiers.tail: urls[0]: use the native '{native}' notifier")
    assert "XXXXSECRETXXXX" not in problem


def test_unknown_url_is_refused_without_echoing_it(caplog):
    [problem] = config_problems("nosuchservice://user:XXXXSECRETXXXX@host")
    assert problem.startswith("bm.yaml:3: notifiers.tail: urls[0]: not a URL Apprise understands")
    assert "XXXXSECRETXXXX" not in problem and "XXXXSECRETXXXX" not in caplog.text


def test_config_keys_and_body_format():
    with pytest.raises(ValidationError):
        AppriseConfig.model_validate({"type": "apprise", "urls": []})
    with pytest.raises(ValidationError):
        AppriseConfig.model_validate({"type": "apprise", "urls": ["json://127.0.0.1/x"], "body_format": "markdown"})


def test_missing_package_is_a_config_error_naming_the_notifier(monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # `import apprise` now raises ImportError
    with pytest.raises(ValidationError, match="optional extra"):
        AppriseConfig.model_validate({"type": "apprise", "urls": ["json://127.0.0.1/x"]})
    yaml = "brands: [{name: Acme}]\nnotifiers:\n  pushover:\n    type: apprise\n    urls: ['json://127.0.0.1/x']\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(yaml, "bm.yaml")
    assert info.value.problems == [f"bm.yaml:3: notifiers.pushover: {MISSING}"]
