import json
import time

import pytest

from monitor.cli import main
from monitor.store import SqliteStore
from tests.e2e.servers import FeedServer, HookReceiver
from tests.servers import postgres
from tests.servers.smtp import smtp_servers  # noqa: F401 - a real aiosmtpd relay

postgres_server = postgres.postgres_server


@pytest.fixture
def servers():
    feed, hook = FeedServer(), HookReceiver()
    yield feed, hook
    feed.close()
    hook.close()


def write_config(tmp_path, feed_url="http://127.0.0.1:9/feed", hook_url="http://127.0.0.1:9/hook"):
    config = tmp_path / "config.yaml"
    config.write_text(f"""
store: {{path: {tmp_path / 'state.db'}}}
brands:
  - {{name: Acme, keywords: [Acme, Акме]}}
  - {{name: Globex, competitor: true}}
sources:
  forum: {{type: rss, url: "{feed_url}"}}
notifiers:
  hook: {{type: webhook, url: "{hook_url}", timeout: 2s}}
routes:
  - {{name: urgent, when: {{severity: [critical, high]}}, notify: [hook]}}
  - {{name: rest, notify: [hook]}}
""")
    return config


def test_replay_contract(tmp_path, capsys, monkeypatch):
    import io
    lines = [
        {"id": "1", "text": "The Acme app is down, third time this week", "author": "jane", "followers": 20},
        {"id": 2, "text": "Lovely weather today"},
        "not json at all",
        {"id": "4"},
        {"id": "5", "text": "Акме не работает, ещё жду", "lang": "ru", "published": "2026-11-25T10:00:00Z"},
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)))
    assert main(["replay", "--config", str(write_config(tmp_path)), "-"]) == 2
    out, err = capsys.readouterr()
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in results] == ["1", 2, "5"]
    first = results[0]
    assert set(first) == {"id", "matched", "brand", "competitor", "matches", "language", "sentiment", "category",
                          "issue", "urgent", "severity", "judged_by", "routes", "reply"}
    assert first["issue"] == "outage" and first["urgent"] is True and first["judged_by"].startswith("model ")
    assert first["matched"] is True and first["brand"] == "Acme" and first["competitor"] is False
    match = first["matches"][0]
    assert "The Acme app"[match["start"]:match["end"]].lower() == "acme" and match["kind"] == "exact"
    assert first["routes"] and first["reply"]
    assert results[1] == {"id": 2, "matched": False}
    assert results[2]["brand"] == "Acme" and results[2]["language"] == "ru"
    assert "-:3: not valid JSON; line skipped" in err
    assert "-:4: text: Field required; line skipped" in err


def test_once_status_and_ack(tmp_path, capsys, servers):
    feed, hook = servers
    feed.add("Acme outage", "Acme is down for everyone")
    feed.add("Other", "nothing here")
    config = write_config(tmp_path, feed.url, hook.url)
    assert main(["once", "--config", str(config)]) == 0
    assert len(hook.received) == 1
    assert main(["once", "--config", str(config)]) == 0     # seen already: nothing sent again
    assert len(hook.received) == 1
    capsys.readouterr()
    assert main(["status", "--json", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sources"][0]["health"] == "ok"
    assert report["deliveries"] == [{"notifier": "hook", "configured": True, "pending": 0, "sending": 0,
                                     "sent_24h": 1, "dead": 0}]
    assert report["alerts"]["open"] == 1
    alert_id = hook.received[0][2]["id"]
    assert [x["id"] for x in report["alerts"]["first"]] == [alert_id]
    assert report["alerts"]["by_issue"] == {"outage": {"open": 1, "urgent": 1}}
    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert f"  {alert_id[:8]} " in text and " outage " in text and "urgent respond by" in text
    assert main(["ack", "--config", str(config), alert_id[:3]]) == 1   # too short to be an id
    assert main(["ack", "--config", str(config), alert_id[:8].upper()]) == 0   # the short id, as shown
    assert main(["ack", "--config", str(config), alert_id]) == 1
    assert main(["status", "--config", str(config)]) == 0
    assert "alerts: 0 open" in capsys.readouterr().out


def test_status_shows_failing_acknowledgement_listeners(tmp_path, capsys):
    config = write_config(tmp_path)
    store = SqliteStore(tmp_path / "state.db")
    store.migrate()
    store.save_listener_state("matrix:room", False, 1_764_000_000.0, "matrix sync: HTTP 401")
    store.save_listener_state("telegram:tg", True, 1_764_000_000.0, None)
    store.close()
    assert main(["status", "--json", "--config", str(config)]) == 0
    listeners = json.loads(capsys.readouterr().out)["ack_listeners"]
    assert [(x["listener"], x["ok"], x["since"]) for x in listeners] == [
        ("matrix:room", False, "2025-11-24T16:00:00+00:00"), ("telegram:tg", True, "2025-11-24T16:00:00+00:00")]
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "matrix:room" in out and "FAILING since 2025-11-24T16:00:00+00:00: matrix sync: HTTP 401" in out


def test_once_reports_a_broken_source_and_fails(tmp_path, capsys):
    assert main(["once", "--config", str(write_config(tmp_path))]) == 1
    assert "forum: FAILED" in capsys.readouterr().out


def test_test_notify(tmp_path, capsys, servers):
    _, hook = servers
    assert main(["test-notify", "--config", str(write_config(tmp_path, hook_url=hook.url)), "hook"]) == 0
    assert "hook: delivered" in capsys.readouterr().out
    assert hook.received[0][2]["data"]["brand"] == "Acme"
    assert main(["test-notify", "--config", str(write_config(tmp_path)), "hook"]) == 1
    err = capsys.readouterr().err
    assert "hook: FAILED (TransientError)" in err and "Traceback" not in err
    assert main(["test-notify", "--config", str(write_config(tmp_path)), "nope"]) == 2


def test_variants_lists_what_the_matcher_accepts(tmp_path, capsys):
    assert main(["variants", "--config", str(write_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "Acme\n  exact:\n    acme\n    акме" in out and "\nGlobex" in out


def test_once_dry_run_stores_and_sends_nothing(tmp_path, capsys, servers):
    feed, hook = servers
    feed.add("Acme outage", "Acme is down for everyone")
    config = write_config(tmp_path, feed.url, hook.url)
    assert main(["once", "--dry-run", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "forum: 1 posts, 1 mentions" in out and "Acme" in out and "-> hook" in out
    assert hook.received == [] and not (tmp_path / "state.db").exists()


def test_once_names_the_streams_it_does_not_listen_to(tmp_path, capsys, servers):
    feed, hook = servers
    feed.add("Acme outage", "Acme is down for everyone")
    config = write_config(tmp_path, feed.url, hook.url)
    stream = "  live: {type: bluesky_jetstream, url: 'ws://127.0.0.1:9/subscribe', profiles_url: ''}\n"
    config.write_text(config.read_text().replace("sources:\n", "sources:\n" + stream))
    for dry_run in (["--dry-run"], []):
        assert main(["once", *dry_run, "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "live: a stream, skipped" in out and "brand-monitor run" in out
        assert "forum: 1 posts" in out


def test_once_on_a_shared_store_leaves_a_running_daemons_sources_to_it(tmp_path, capsys, servers, postgres_server):
    from monitor.store.postgres import PostgresStore
    feed, hook = servers
    feed.add("Acme outage", "Acme is down for everyone")
    url = postgres_server.new_database()
    config = write_config(tmp_path, feed.url, hook.url)
    text = config.read_text().replace(f"store: {{path: {tmp_path / 'state.db'}}}", f'store: {{url: "{url}"}}')
    config.write_text(text.replace("sources:\n", f"sources:\n  news: {{type: rss, url: '{feed.url}'}}\n"))
    store = PostgresStore(url)
    store.migrate()
    assert store.take_lease("source:forum", "daemon-1", time.time(), 300)  # a daemon is polling `forum`
    assert main(["once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "forum: skipped: a running daemon polls it" in out and "news: 1 posts, 1 new, 1 alerts" in out
    held = {name: holder for name, holder in store._read("SELECT name, holder FROM lease")}
    store.close()
    assert held == {"source:forum": "daemon-1"}  # still the daemon's; `once` gave back the lease it took


def test_replay_skips_a_line_that_is_not_utf8_from_a_file_and_from_stdin(tmp_path):
    """Real bytes through a real process: the bad line is named and skipped, the others are judged."""
    import subprocess
    import sys
    config = write_config(tmp_path)
    data = (json.dumps({"id": "1", "text": "The Acme app is down"}).encode() + b"\n"
            + b'{"id": "2", "text": "Acme \xff\xfe broken"}\n'
            + json.dumps({"id": "3", "text": "Acme charged me twice"}).encode() + b"\n")
    posts = tmp_path / "posts.jsonl"
    posts.write_bytes(data)
    for source, stdin in ((str(posts), None), ("-", data)):
        run = subprocess.run([sys.executable, "-m", "monitor", "replay", "--config", str(config), source],
                             input=stdin, capture_output=True, timeout=120)
        assert run.returncode == 2, run.stderr
        assert [json.loads(line)["id"] for line in run.stdout.splitlines()] == ["1", "3"]
        assert run.stderr.decode().strip().endswith(f"{source}:2: not valid UTF-8 (byte 27); line skipped")
        assert b"Traceback" not in run.stderr


def test_run_says_in_one_line_that_the_metrics_port_is_taken(tmp_path):
    import socket
    import subprocess
    import sys
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "c.yaml"
        config.write_text(f"store: {{path: {tmp_path / 'state.db'}}}\nbrands: [{{name: Acme}}]\n"
                          f"metrics: {{enabled: true, listen: '127.0.0.1:{port}'}}\n")
        run = subprocess.run([sys.executable, "-m", "monitor", "run", "--config", str(config)],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip() == f"{config}: metrics.listen 127.0.0.1:{port}: address already in use"


def test_test_notify_over_smtp_says_smtp_not_http(tmp_path, capsys, smtp_servers):
    config = tmp_path / "mail.yaml"
    config.write_text(f"""
brands: [{{name: Acme}}]
notifiers:
  mail: {{type: smtp, host: 127.0.0.1, port: {smtp_servers.plain_port}, security: none,
          from: alerts@example.com, to: [support@example.com]}}
""")
    assert main(["test-notify", "--config", str(config), "mail"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mail: delivered (SMTP 250, id <") and "HTTP" not in out


def without_root_file_override():
    """Root ignores file modes (CAP_DAC_OVERRIDE): drop that capability in the child, so that a read-only folder
    is read-only to it as it is to the service's own user."""
    import ctypes
    import os
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize("case", ["not a database", "read-only folder", "folder cannot be created"])
def test_run_refuses_an_unusable_store_in_one_line_naming_it(tmp_path, case):
    import subprocess
    import sys
    locked = tmp_path / "locked"
    locked.mkdir()
    path, reason = {
        "not a database": (tmp_path / "state.db", "file is not a database"),
        "read-only folder": (locked / "state.db",
                             "unable to open database file (does its folder exist, and may this user write there?)"),
        "folder cannot be created": (locked / "state" / "state.db", f"{locked / 'state'}: Permission denied"),
    }[case]
    (tmp_path / "state.db").write_bytes(b"this is not SQLite" * 300)
    locked.chmod(0o555)
    config = tmp_path / "c.yaml"
    config.write_text(f"store: {{path: {path}}}\nbrands: [{{name: Acme}}]\n")
    run = subprocess.run([sys.executable, "-m", "monitor", "run", "--config", str(config)], capture_output=True,
                         text=True, timeout=60, preexec_fn=without_root_file_override)
    assert (run.returncode, run.stderr) == (2, f"brand-monitor: store {path}: {reason}\n")


def test_status_names_a_store_that_is_not_a_database(tmp_path, capsys):
    config = write_config(tmp_path)
    (tmp_path / "state.db").write_bytes(b"this is not SQLite" * 300)
    assert main(["status", "--config", str(config)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == f"store: {tmp_path / 'state.db'}  FAILING: file is not a database"


def test_minimal_yaml_passes_the_check_its_comment_documents(tmp_path):
    """The commands in config/minimal.yaml's header, run as written in a shell, from a folder holding a copy."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).parents[1]
    minimal = root / "config" / "minimal.yaml"
    commands = [line.removeprefix("#   ") for line in minimal.read_text().splitlines() if line.startswith("#   ")]
    (tmp_path / "config").mkdir()
    shutil.copy(minimal, tmp_path / "config")
    (tmp_path / "bin").mkdir()
    shim = tmp_path / "bin" / "brand-monitor"  # what `pip install` puts on the PATH
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m monitor "$@"\n')
    shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "CREDENTIALS_DIRECTORY"}
    env.update(PATH=f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")])))
    run = subprocess.run(["sh", "-ec", "\n".join(commands)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("config/minimal.yaml: OK — 1 brands, 1 sources, 1 notifiers, 1 routes")
