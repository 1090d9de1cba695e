"""Two daemons on one PostgreSQL share the sources and the outbox; kill -9 one of them in the middle of 200 new
posts on 10 feeds, and the other takes its work over: every alert reaches the webhook, none twice."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.servers import FeedServer, IdempotentHook
from tests.servers import postgres

postgres_server = postgres.postgres_server
FEEDS, POSTS_PER_FEED = 10, 20
LEASE = 3.0


def write_config(path: Path, url: str, feeds: list[FeedServer], hook: IdempotentHook) -> Path:
    sources = "".join(f'  feed{n}: {{type: rss, url: "{f.url}", every: 1s, jitter: 0s, allow_fast_polling: true}}\n'
                      for n, f in enumerate(feeds))
    path.write_text(f"""\
store: {{url: "{url}", lease: {LEASE}s}}
brands: [{{name: Acme, keywords: [Acme]}}]
sources:
{sources}notifiers:
  hook: {{type: webhook, url: "{hook.url}", timeout: 2s}}
routes: [{{name: all, notify: [hook]}}]
delivery: {{lease: 5s}}
log: {{level: info, format: json}}
incidents: {{enabled: false}}   # every complaint is its own alert here
""")
    return path


def status(config: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "monitor", "status", "--json", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout)


def start(config: Path, log: Path) -> subprocess.Popen:
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))


def sources_held(report: dict) -> dict[int, int]:
    return {d["pid"]: sum(h.startswith("source:") for h in d["holds"]) for d in report["daemons"]
            if d["state"] == "running"}


def test_kill_9_of_one_of_two_daemons_loses_and_repeats_no_alert(tmp_path, postgres_server):
    feeds = [FeedServer(site=f"forum{n}.example") for n in range(FEEDS)]
    hook = IdempotentHook()
    config = write_config(tmp_path / "config.yaml", postgres_server.new_database(), feeds, hook)
    daemons = [start(config, tmp_path / f"daemon{n}.log") for n in range(2)]
    try:
        deadline = time.monotonic() + 30
        while sum(sources_held(status(config)).values()) < FEEDS or len(sources_held(status(config))) < 2:
            assert time.monotonic() < deadline, f"the daemons did not share the sources: {status(config)}"
            time.sleep(0.5)
        for n, feed in enumerate(feeds):
            for i in range(POSTS_PER_FEED):
                feed.add(f"Acme complaint {n}-{i}", f"Acme charged me twice, complaint {n}-{i}")
        assert hook.wait_for(FEEDS * POSTS_PER_FEED // 2, timeout=60)
        victim = max(daemons, key=lambda p: sources_held(status(config)).get(p.pid, 0))
        survivor = next(p for p in daemons if p is not victim)
        victim.send_signal(signal.SIGKILL)   # halfway through: polls and deliveries in flight
        victim.wait()
        killed_at = time.monotonic()
        assert hook.wait_for(FEEDS * POSTS_PER_FEED, timeout=90), \
            f"only {len(hook.delivered)} of {FEEDS * POSTS_PER_FEED} arrived"
        time.sleep(2 * LEASE)  # nothing more arrives late
        alert_ids = list(hook.delivered.values())
        assert len(alert_ids) == len(set(alert_ids)) == FEEDS * POSTS_PER_FEED  # each alert under one key, once
        report = status(config)
        states = {d["pid"]: d["state"] for d in report["daemons"]}
        assert states == {victim.pid: "dead", survivor.pid: "running"}
        assert sources_held(report) == {survivor.pid: FEEDS}  # the survivor took over every source
        print(f"all alerts {time.monotonic() - killed_at:.1f}s after the kill; {hook.repeats} repeated key(s)")
    finally:
        for proc in daemons:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
        hook.close()
        for feed in feeds:
            feed.close()
