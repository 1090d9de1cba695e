"""Retention: history is pruned in batches, open alerts expire, and nothing still needed is deleted."""
from __future__ import annotations

import math

import pytest

from monitor.errors import ConfigError
from monitor.models import Send
from monitor.routing.escalation import Window
from monitor.settings import RetentionConfig, load_settings
from monitor.sources.base import SourceState
from tests.factories import make_alert, make_post

DAY = 86400.0
NOW = 1000 * DAY
KEEP = RetentionConfig(posts="90d", dead_letters="365d", incidents="365d", open_alerts="7d")


def ingest(store, n: int, at: float, alert: bool = True) -> str:
    post = make_post(n)
    alerts = [(make_alert(post), {"team": Send()})] if alert else []
    store.ingest(SourceState("feed"), [post], alerts, at)
    return alerts[0][0].id if alert else ""


def deliver(store, at: float, ok: bool = True) -> None:
    row = store.claim("team", at, lease=60)
    if ok:
        store.mark_sent(row, at, 200, None)
    else:
        store.mark_dead(row, at, "HTTP 410", None)


def prune_all(store, now: float = NOW) -> dict[str, int]:
    totals: dict[str, int] = {}
    while True:
        done = store.prune(now, KEEP, limit=2)  # tiny batches: the loop must still finish the job
        for step, n in done.items():
            totals[step] = totals.get(step, 0) + n
        if max(done.values()) < 2:
            return totals


def alert_ids(store) -> set[str]:
    return {r[0] for r in store._read("SELECT id FROM alert")}


def test_old_closed_history_goes_and_everything_still_needed_stays(store):
    old, ancient = NOW - 100 * DAY, NOW - 400 * DAY
    sent_and_acked = ingest(store, 1, old)
    deliver(store, old)
    store.ack(sent_and_acked, old + 60)
    sent_never_acked = ingest(store, 2, old)
    deliver(store, old)
    dead_long_ago = ingest(store, 3, ancient)
    deliver(store, ancient, ok=False)
    dead_this_year = ingest(store, 4, old)              # kept a year from when it was queued, for investigation
    deliver(store, old, ok=False)
    still_pending = ingest(store, 5, old)               # its delivery is still being retried: kept
    recent = ingest(store, 6, NOW - DAY)
    ingest(store, 7, old, alert=False)                  # posts without a mention
    ingest(store, 8, NOW - DAY, alert=False)

    totals = prune_all(store)

    assert alert_ids(store) == {dead_this_year, still_pending, recent}
    assert (totals["alerts"], totals["expired"]) == (3, 4)  # every old open one expired; the recent one waits
    assert {r[0] for r in store._read("SELECT post_id FROM post")} == {"4", "5", "6", "8"}
    assert store._read("SELECT COUNT(*) FROM mention").fetchone()[0] == 3
    assert store._read("SELECT COUNT(*) FROM outbox WHERE alert_id IN (?,?,?)",
                               (sent_and_acked, sent_never_acked, dead_long_ago)).fetchone()[0] == 0
    assert store.open_alerts(NOW)["open"] == 1             # only the recent alert is still waiting for someone
    assert store.dead_letters() and all(d["alert_id"] == dead_this_year for d in store.dead_letters())
    assert store.unseen([make_post(1)]) == [make_post(1)]  # forgotten: what an old feed re-serves is new again


def test_unanswered_alerts_expire_and_stop_escalating(store):
    week_old = ingest(store, 1, NOW - 8 * DAY)
    fresh = ingest(store, 2, NOW - DAY)
    assert store.prune(NOW, KEEP)["expired"] == 1
    assert store.open_alerts(NOW)["open"] == 1
    assert store._read("SELECT acked_by FROM alert WHERE id=?", (week_old,)).fetchone()[0] == "expired"
    assert [c[0] for c in store.escalation_candidates(Window(since=0.0, now=math.inf))] == [fresh]


def test_old_incidents_go(store):
    from monitor.routing.incidents import Incident
    store.ingest(SourceState("feed"), [], [], NOW, [
        Incident(id="incident-old", brand="Acme", category="outage", opened_at=0, updated_at=NOW - 400 * DAY,
                 members=3, notified_members=3, language="en", destinations=("team",)),
        Incident(id="incident-new", brand="Acme", category="billing", opened_at=0, updated_at=NOW - DAY,
                 members=3, notified_members=3, language="en", destinations=("team",))])
    assert store.prune(NOW, KEEP)["incidents"] == 1
    assert [r[0] for r in store._read("SELECT id FROM incident")] == ["incident-new"]


def test_open_alerts_may_not_outlive_posts(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("store:\n  retention:\n    posts: 5d\n    open_alerts: 30d\nbrands: [{name: Acme}]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    problem, = caught.value.problems
    assert "config.yaml:2: store.retention:" in problem and "open_alerts must not be longer than posts" in problem


async def test_the_daemon_prunes_in_batches_and_says_what_it_did(tmp_path, monkeypatch):
    import time

    from structlog.testing import capture_logs

    from monitor import app
    from monitor.store import SqliteStore
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {{path: {tmp_path / 'state.db'}}}\nbrands: [{{name: Acme}}]\n")
    seed = SqliteStore(tmp_path / "state.db")
    seed.migrate()
    for n in range(7):
        ingest(seed, n, time.time() - 100 * DAY, alert=False)
    seed.close()
    monkeypatch.setattr(app, "PRUNE_BATCH", 3)
    daemon = app.Daemon(config, load_settings(config))
    with capture_logs() as logs:
        await daemon._retention_job()
    daemon.store.close()
    pruned, = [e for e in logs if e["event"] == "history_pruned"]
    assert pruned["posts"] == 7  # three batches: 3, 3, 1
