"""`polling.workers`: matching and triage in worker processes, and a worker that dies costs no mention."""
from __future__ import annotations

import os
import signal

from monitor.app import build_pipeline
from monitor.polling import Poller
from monitor.runtime import counters
from monitor.settings import SourceConfig, parse_settings
from monitor.sources.base import FetchResult
from monitor.workers import PipelineWorkers
from tests.factories import make_post
from tests.test_polling import POLLING, ScriptedSource

SETTINGS = parse_settings("""
brands: [{name: Acme}]
notifiers: {team: {type: webhook, url: "http://127.0.0.1:9/hook"}}
routes: [{name: all, notify: [team]}]
polling: {workers: 2}
incidents: {enabled: false}   # count alerts one by one
""")
CONFIG = SourceConfig(type="test", every="60s", timeout="5s")


def never(*_args, **_kwargs):
    raise AssertionError("the daemon's own pipeline ran: the posts should have gone to a worker")


async def test_posts_become_alerts_in_worker_processes(store):
    local = build_pipeline(SETTINGS)
    local.process = never
    poller = Poller(store, local, POLLING, incidents=SETTINGS.incidents)
    workers = PipelineWorkers(SETTINGS, 2)
    try:
        posts = [make_post(n, text=f"Acme charged me twice, order {n}") for n in range(1, 6)]
        report = await poller.poll("s", ScriptedSource(FetchResult(posts=posts)), CONFIG)
    finally:
        workers.close()
    assert report.ok and report.alerts == 5 and report.queued == 5
    assert store.outbox_counts() == {"team": {"pending": 5}}


async def test_a_killed_worker_costs_no_mention(store):
    local = build_pipeline(SETTINGS)
    workers = PipelineWorkers(SETTINGS, 2)
    poller = Poller(store, local, POLLING, incidents=SETTINGS.incidents)
    try:
        first = await poller.poll("s", ScriptedSource(FetchResult(posts=[make_post(1)])), CONFIG)
        for pid in list(workers._pool._processes):  # what the OOM killer would do
            os.kill(pid, signal.SIGKILL)
        second = await poller.poll("s", ScriptedSource(FetchResult(posts=[make_post(2)])), CONFIG)
        third = await poller.poll("s", ScriptedSource(FetchResult(posts=[make_post(3)])), CONFIG)
    finally:
        workers.close()
    assert (first.alerts, second.alerts, third.alerts) == (1, 1, 1)  # the second by the daemon, the third by new
    assert store.outbox_counts() == {"team": {"pending": 3}}


async def test_feeds_are_parsed_on_the_workers_when_there_are_some(http):
    from monitor.http import make_client
    from monitor.sources.base import SourceState
    from monitor.sources.rss import FeedSource
    from monitor.workers import offload

    assert await offload(os.getpid) == os.getpid()  # no workers: a thread of this process
    http.expect_request("/feed").respond_with_data(
        "<rss version='2.0'><channel><title>t</title><item><guid>1</guid><title>Акме не работает</title></item>"
        "</channel></rss>", content_type="application/rss+xml")
    workers = PipelineWorkers(SETTINGS, 2)
    try:
        assert await offload(os.getpid) != os.getpid()
        async with make_client() as client:
            source = FeedSource("feed", http.url_for("/feed"), client, timeout=5, max_bytes=100_000)
            result = await source.fetch(SourceState("feed"))
    finally:
        workers.close()
    assert [p.title for p in result.posts] == ["Акме не работает"]
    assert await offload(os.getpid) == os.getpid()  # closed: back to threads


async def test_mentions_muted_in_a_worker_are_counted_where_metrics_are_served(store):
    settings = parse_settings("""
brands: [{name: Acme}]
notifiers: {team: {type: webhook, url: "http://127.0.0.1:9/hook"}}
routes: [{name: all, notify: [team]}]
mutes: [{when: {brand: Acme}, until: "2999-01-01T00:00:00Z", reason: "known outage"}]
polling: {workers: 2}
incidents: {enabled: false}
""")
    before = counters._muted.snapshot().get(("Acme",), 0)
    workers = PipelineWorkers(settings, 2)
    poller = Poller(store, build_pipeline(settings), POLLING, incidents=settings.incidents)
    try:
        posts = [make_post(n, text=f"Acme is down, order {n}") for n in range(1, 4)]
        report = await poller.poll("s", ScriptedSource(FetchResult(posts=posts)), CONFIG)
    finally:
        workers.close()
    assert report.alerts == 3 and report.queued == 0
    assert counters._muted.snapshot().get(("Acme",), 0) == before + 3


async def test_alerts_made_in_a_worker_equal_the_daemons_own():
    from dataclasses import replace

    from monitor.models import AuthorHistory, Engagement
    from monitor.workers import _process, process_posts
    from tests.factories import NOW

    posts = [replace(make_post(n, text=text), title="Re: Acme", lang_hint="en", raw={"feed_title": "Forum", "n": n},
                     engagement=Engagement(likes=n, reposts=2), author=replace(make_post(n).author, followers=9000))
             for n, text in enumerate(["Acme charged me twice!!", "Акме не работает с утра", "thanks acme ❤️"], 1)]
    history = {"user1": AuthorHistory(mentions=4, complaints=3)}
    args = ("s", posts, NOW.timestamp(), history, {"Acme": 7})
    own, _ = process_posts(build_pipeline(SETTINGS), *args)
    workers = PipelineWorkers(SETTINGS, 2)
    try:
        made, _ = await workers.run(_process, *args)
    finally:
        workers.close()
    assert len(own) == 3 and made == own
    assert [alert.mention.post.raw for alert, _ in made] == [post.raw for post in posts]  # raw is not compared


FORKED_DAEMON = '''
import asyncio, gc, json, os, signal, sys, threading
from monitor.app import build_pipeline
from monitor.workers import PipelineWorkers, _process, process_posts
from tests.factories import NOW, make_post
from tests.test_workers import SETTINGS

pipeline = build_pipeline(SETTINGS)
pipeline.built_by = os.getpid()  # not in the settings: a worker that rebuilt its pipeline would not have it

def built_by():
    from monitor import workers
    return getattr(workers._pipeline, "built_by", None)

async def main():
    posts = [make_post(n, text=t) for n, t in enumerate(["Acme charged me twice!!", "Акме не работает"], 1)]
    args = ("s", posts, NOW.timestamp(), {}, {"Acme": 3})
    workers = PipelineWorkers(SETTINGS, 2, pipeline)
    frozen = gc.get_freeze_count()  # the daemon's collector leaves the shared pages alone
    made, _ = await workers.run(_process, *args)
    seen = await workers.run(built_by)
    threading.Thread(target=threading.Event().wait, daemon=True).start()
    later = PipelineWorkers(SETTINGS, 2, pipeline)  # another thread runs now: no fork
    later_method = later.start_method
    later.close()
    print("REPORT", json.dumps({"daemon": os.getpid(), "start": workers.start_method, "later": later_method,
                                "built_by": seen, "workers": list(workers._pool._processes), "frozen": frozen,
                                "same_alerts": made == process_posts(pipeline, *args)[0] and len(made) == 2}),
          flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the daemon dies without a word: its workers must not outlive it

asyncio.run(main())
'''


def test_workers_forked_at_start_keep_the_daemons_pipeline_and_die_with_it(tmp_path):
    import json
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "daemon.py"
    script.write_text(FORKED_DAEMON)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == -signal.SIGKILL, done.stderr
    report = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))[7:])
    assert report["start"] == "fork" and report["later"] == "spawn"
    assert report["built_by"] == report["daemon"]  # the daemon's own pipeline, not one built again
    assert report["frozen"] > 1000
    assert report["same_alerts"] is True

    def alive(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in report["workers"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(report["workers"]) == 2 and not any(alive(pid) for pid in report["workers"])
