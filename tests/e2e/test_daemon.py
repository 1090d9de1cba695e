"""The daemon as a real subprocess: feed over loopback HTTP in, webhook over loopback HTTP out."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import FeedServer, HookReceiver

CONFIG = """\
store: {{path: {store}}}
brands:
  - name: Acme
    keywords: [Acme]
sources:
  forum: {{type: rss, url: "{feed}", every: 2s, jitter: 0s, allow_fast_polling: true}}
notifiers:
  hook: {{type: webhook, url: "{hook}", timeout: 5s}}
routes:
  - {{name: all, notify: [hook]}}
log: {{level: info, format: json}}
incidents: {{enabled: false}}   # these tests count individual deliveries
metrics: {{enabled: true, listen: "127.0.0.1:{metrics_port}"}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def feed():
    server = FeedServer()
    yield server
    server.close()


class Daemon:
    def __init__(self, tmp_path: Path, feed: FeedServer, hook: HookReceiver, env: dict | None = None):
        self.config = tmp_path / "config.yaml"
        self.metrics_port = free_port()
        self.config.write_text(CONFIG.format(store=tmp_path / "state.db", feed=feed.url, hook=hook.url,
                                             metrics_port=self.metrics_port))
        self.log_path = tmp_path / "daemon.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Daemon":
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(self.config)],
                                     stdout=self.log, stderr=self.log, env=self.env)
        return self

    def events(self) -> list[dict]:
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_event(self, name: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e["event"] == name]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no {name} event within {timeout}s; log:\n{self.log_path.read_text()[-3000:]}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 20.0) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code


def test_a_new_post_reaches_the_webhook_within_10s_exactly_once(tmp_path, feed):
    hook = HookReceiver()
    feed.add("Weather", "Sunny all day")
    daemon = Daemon(tmp_path, feed, hook).start()
    try:
        daemon.wait_event("poll_completed")
        feed.add("Acme app down", "The Acme app is down again, third time this week")
        published = time.monotonic()
        assert hook.wait_for(1, timeout=10), "the alert did not arrive within 10 s"
        latency = hook.received[0][0] - published
        requests_then = feed.requests
        while feed.requests < requests_then + 2:   # two more polls see the same post again
            time.sleep(0.1)
        assert len(hook.received) == 1
        _, headers, body = hook.received[0]
        assert body["data"]["brand"] == "Acme" and "down again" in body["data"]["post"]["text"]
        assert headers["Idempotency-Key"]
        print(f"post-to-alert latency {latency:.2f}s")
        metrics = httpx.get(f"http://127.0.0.1:{daemon.metrics_port}/metrics").text
        assert 'brand_monitor_polls_total{outcome="ok",source="forum"}' in metrics
        assert 'brand_monitor_deliveries_total{notifier="hook",outcome="sent"} 1.0' in metrics
        assert 'brand_monitor_posts_total{source="forum"} 2.0' in metrics  # the weather post, then Acme's
        assert re.search(r'brand_monitor_mentions_total\{brand="Acme",category="\w+",severity="\w+"\} 1\.0', metrics)
        assert 'brand_monitor_post_to_alert_seconds_count 1.0' in metrics
        assert httpx.get(f"http://127.0.0.1:{daemon.metrics_port}/healthz").status_code == 200
    finally:
        assert daemon.stop() == 0
    assert daemon.wait_event("daemon_stopped")


def test_kill_9_during_a_burst_loses_nothing(tmp_path, feed):
    hook = HookReceiver(delay=0.25)
    for i in range(20):
        feed.add(f"Acme complaint {i}", f"Acme charged me twice, complaint number {i}")
    first = Daemon(tmp_path, feed, hook).start()
    assert hook.wait_for(5, timeout=20)
    first.proc.kill()                      # SIGKILL in the middle of the burst
    first.proc.wait()
    first.log.close()
    delivered_before = len(hook.received)
    assert delivered_before < 20
    second = Daemon(tmp_path, feed, hook).start()
    try:
        assert hook.wait_for(20, timeout=30), f"only {len(set(hook.alert_ids()))} of 20 arrived"
        time.sleep(1.0)
        ids = hook.alert_ids()
        assert len(set(ids)) == 20
        assert len(ids) - len(set(ids)) <= 1   # at most the one in flight when killed
    finally:
        assert second.stop() == 0


def test_sigterm_stops_gracefully_and_reports_to_systemd(tmp_path, feed):
    sock_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(sock_path))
    notify.settimeout(10)
    daemon = Daemon(tmp_path, feed, HookReceiver(), env={"NOTIFY_SOCKET": str(sock_path)}).start()
    try:
        assert notify.recv(4096).decode().startswith("READY=1")
        assert daemon.stop(signal.SIGTERM) == 0
        assert notify.recv(4096).decode() == "STOPPING=1"
    finally:
        notify.close()
    assert daemon.wait_event("daemon_stopped")


def test_sighup_with_a_broken_config_keeps_running(tmp_path, feed):
    hook = HookReceiver()
    daemon = Daemon(tmp_path, feed, hook).start()
    try:
        daemon.wait_event("daemon_started")
        good = daemon.config.read_text()
        daemon.config.write_text(good.replace("keywords:", "keywordz:"))
        daemon.proc.send_signal(signal.SIGHUP)
        rejected = daemon.wait_event("reload_rejected")
        assert any("keywordz: unknown field" in p for p in rejected["problems"])
        daemon.config.write_text(good.replace("[Acme]", "[Acme, Globex]"))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_event("config_reloaded")
        feed.add("Globex", "Globex support is useless")
        assert hook.wait_for(1, timeout=10)
        assert daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0


def test_a_rejected_reload_logs_no_password_or_token_of_the_config(tmp_path, feed):
    daemon = Daemon(tmp_path, feed, HookReceiver()).start()
    try:
        daemon.wait_event("daemon_started")
        daemon.config.write_text(daemon.config.read_text().replace(
            feed.url, "ftp://ann:PASSw0rd@forum.example/feed.xml?token=TOK3Nvalue"))
        daemon.proc.send_signal(signal.SIGHUP)
        rejected = daemon.wait_event("reload_rejected")
        assert any("sources.forum.url: expected an http(s) URL" in p for p in rejected["problems"])
        log = daemon.log_path.read_text()
        assert "PASSw0rd" not in log and "TOK3Nvalue" not in log
    finally:
        assert daemon.stop() == 0


def test_a_second_daemon_on_the_same_store_is_refused(tmp_path, feed):
    first = Daemon(tmp_path, feed, HookReceiver()).start()
    try:
        first.wait_event("daemon_started")
        result = subprocess.run([sys.executable, "-m", "monitor", "run", "--config", str(first.config)],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode == 1
        assert "another brand-monitor process is using" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        first.stop()


def test_polls_cut_short_by_a_stop_are_logged_once_together(tmp_path, feed):
    """A feed that never answers keeps its poll in flight past the stop's grace: one line names every poll cut
    short, instead of a line (or a traceback) per poll."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(15)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        daemon = Daemon(tmp_path, feed, HookReceiver())
        sources = "".join(f'  {name}: {{type: rss, url: "{url}/{name}", jitter: 0s}}\n' for name in ("a", "b", "c"))
        daemon.config.write_text(re.sub(r"sources:\n  forum: .*\n", f"sources:\n{sources}", daemon.config.read_text()))
        daemon.start()
        held = [silent.accept()[0] for _ in range(3)]  # all three polls are waiting for an answer
        try:
            assert daemon.stop() == 0
        finally:
            for conn in held:
                conn.close()
    events = daemon.events()
    cancelled = [e for e in events if e["event"].startswith("poll")]
    assert [(e["event"], e["count"], e["sources"]) for e in cancelled] == [("polls_cancelled", 3, ["a", "b", "c"])]
    assert "Traceback" not in daemon.log_path.read_text()
    assert events[-1]["event"] == "daemon_stopped"
