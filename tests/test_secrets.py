"""Secrets stay secret: whatever a remote API echoes back, or a config file holds, is masked in the database,
in `status` (text and JSON), `test-notify`, `check` and the log."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import structlog

from monitor.cli import main
from monitor.log import setup_logging
from monitor.redaction import redact, remember
from monitor.settings import parse_settings
from monitor.sources.base import SourceState
from monitor.store import SqliteStore
from tests.e2e.servers import EchoingTelegram, FeedServer

TOKEN = "123456:AAH-secretTOKENvalue_0123456789abcdef"
LEAKS = (TOKEN, "AAH-secretTOKENvalue")


@pytest.fixture
def servers():
    feed, telegram = FeedServer(), EchoingTelegram()
    yield feed, telegram
    feed.close()
    telegram.close()


def telegram_config(tmp_path, feed_url: str, api_url: str):
    config = tmp_path / "config.yaml"
    config.write_text(f"""
store: {{path: {tmp_path / 'state.db'}}}
brands: [{{name: Acme}}]
sources:
  forum: {{type: rss, url: "{feed_url}"}}
notifiers:
  tg: {{type: telegram, token: "{TOKEN}", chat_id: -1001234567890, api_url: "{api_url}", timeout: 5s}}
routes:
  - {{name: all, notify: [tg]}}
incidents: {{enabled: false}}
log: {{format: json}}
""")
    return str(config)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=120)


def assert_no_leak(where: str, text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} in {where}:\n{text}"


def test_a_token_echoed_by_the_telegram_api_is_stored_printed_and_logged_nowhere(tmp_path, servers):
    feed, telegram = servers
    for text in ("Acme app is down", "Acme charged me twice", "Acme support ignores me"):
        feed.add(text, f"{text}, third time this week")
    config = telegram_config(tmp_path, feed.url, telegram.url)

    once = cli("once", "--config", config)
    assert once.returncode == 0, once.stderr
    assert telegram.requests == 3
    dead = [json.loads(line) for line in once.stderr.splitlines() if '"alert_dead_lettered"' in line]
    assert len(dead) == 3 and "Unauthorized: invalid token in /bot***/sendMessage" in dead[0]["error"]
    assert_no_leak("the log of once", once.stderr + once.stdout)

    database = b"".join(path.read_bytes() for path in tmp_path.glob("state.db*"))
    assert b"Unauthorized: invalid token" in database
    for leak in LEAKS:
        assert leak.encode() not in database

    text, as_json = cli("status", "--config", config), cli("status", "--json", "--config", config)
    assert "recent dead letters" in text.stdout and "HTTP 401" in text.stdout
    assert [d["attempts"] for d in json.loads(as_json.stdout)["dead_letters"]] == [1, 1, 1]
    assert_no_leak("status", text.stdout + text.stderr)
    assert_no_leak("status --json", as_json.stdout + as_json.stderr)

    notify = cli("test-notify", "--config", config, "tg")
    assert notify.returncode == 1 and "tg: FAILED (AuthFailedError)" in notify.stderr
    assert_no_leak("test-notify", notify.stdout + notify.stderr)


def test_status_masks_secrets_in_errors_stored_by_earlier_versions(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(f"""
store: {{path: {tmp_path / 'state.db'}}}
brands: [{{name: Acme}}]
sources:
  forum: {{type: rss, url: "https://forum.example/feed?key=feedKEY9876"}}
notifiers:
  tg: {{type: telegram, token: "{TOKEN}", chat_id: 1}}
""")
    store = SqliteStore(tmp_path / "state.db")
    store.migrate()
    store.save_source_state(SourceState(source_id="forum", error_count=1, last_error="HTTP 403: feedKEY9876 expired"))
    store.save_listener_state("telegram:tg", False, 1_764_000_000.0, f"HTTP 401 for token {TOKEN}")
    store.close()
    for json_flag in ([], ["--json"]):
        assert main(["status", *json_flag, "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "HTTP 403: *** expired" in out and "HTTP 401 for token ***" in out
        assert "feedKEY9876" not in out
        assert_no_leak("status", out)


def test_check_names_a_bad_url_without_its_password_or_token(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("brands: [{name: Acme}]\nsources:\n"
                      "  forum: {type: rss, url: 'ftp://ann:PASSw0rd@forum.example/feed?token=TOK3N'}\n")
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{config}:3: sources.forum.url: expected an http(s) URL")
    assert "PASSw0rd" not in err and "TOK3N" not in err


def test_the_loader_tells_the_redactor_every_secret_it_reads(tmp_path, monkeypatch):
    (tmp_path / "feed_url").write_text("https://private.example/feeds/u7Hq2ZrX/rss\n")
    monkeypatch.setenv("MATRIX_ACCESS_TOKEN", "mat-access-value")
    monkeypatch.setenv("BRAND_NAME", "Initech")
    parse_settings(f"""
brands: [{{name: "${{BRAND_NAME}}"}}]
sources:
  private: {{type: rss, url_file: {tmp_path / 'feed_url'}}}
  gitlab: {{type: rss, url: "https://glpat-tokenasuser@gitlab.example/feed"}}
notifiers:
  room: {{type: matrix, homeserver: "https://matrix.example", room_id: "!r:matrix.example",
          access_token: "${{MATRIX_ACCESS_TOKEN}}"}}
  hook: {{type: webhook, url: "https://hooks.example/in/8f3kD92mQx/alerts", secret: "c2lnbmluZy1rZXk="}}
  mail: {{type: smtp, host: mail.example, from: a@example.com, to: [b@example.com], username: ann,
          password: pw}}
""")
    text = ("feed /feeds/u7Hq2ZrX/rss said mat-access-value; user glpat-tokenasuser; hook /in/8f3kD92mQx/alerts; "
            "key c2lnbmluZy1rZXk=; brand Initech; user ann, password pw")
    assert redact(text) == ("feed /feeds/***/rss said ***; user ***; hook /in/***/alerts; "
                            "key ***; brand Initech; user ann, password pw")  # too short to mask: "pw"


def test_a_configured_secret_inside_a_longer_token_does_not_unmask_the_rest():
    remember(["xoxb-4242"])  # e.g. another notifier's token, a prefix of the one a service echoes
    assert redact("invalid_auth for xoxb-4242-9999-LONGERslackTOKEN.") == "invalid_auth for ***."


def test_tracebacks_in_the_log_are_redacted_too(capsys):
    setup_logging("info", "console")
    try:
        raise ValueError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getMe")
    except ValueError:
        structlog.get_logger().exception("probe_failed")
    err = capsys.readouterr().err
    assert "ValueError: cannot reach https://api.telegram.org/bot***/getMe" in err
    assert_no_leak("the log", err)
