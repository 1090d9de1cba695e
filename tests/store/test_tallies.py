"""`status` and /metrics count open alerts and the last day's deliveries from per-hour tallies kept by triggers;
whatever happens to the rows (new, acknowledged, expired, sent, pruned), the tallies say what counting the rows
says, on both backends."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from monitor.models import Send
from monitor.settings import RetentionConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.status import collect_status
from tests.factories import make_alert, make_post

HOUR = 3600.0
T = 1_800_000_000.0  # a whole hour: the boundaries below fall on and around hours


def counted(store, now: float, since: float) -> tuple[dict, dict, dict]:
    """What the rows say: open/late, sent per destination since `since`, open per issue."""
    total, late = store._read("SELECT COUNT(*), SUM(CASE WHEN respond_by<? THEN 1 ELSE 0 END) FROM alert"
                              " WHERE acked_at IS NULL", (now,)).fetchone()
    sent = {n: {"sent": c} for n, c in store._read("SELECT notifier_id, COUNT(*) FROM outbox WHERE sent_at>=?"
                                                   " GROUP BY notifier_id", (since,))}
    issues = {i or "unknown": {"open": n, "urgent": u or 0} for i, n, u in store._read(
        "SELECT issue, COUNT(*), SUM(urgent) FROM alert WHERE acked_at IS NULL GROUP BY issue")}
    return {"open": total, "late": late or 0}, sent, issues


def tallied(store, now: float, since: float) -> tuple[dict, dict, dict]:
    sent = {n: {"sent": c["sent"]} for n, c in store.outbox_counts(sent_since=since).items() if "sent" in c}
    return store.open_alerts(now), sent, store.open_alerts_by_issue()


def test_tallies_say_what_counting_the_rows_says(store):
    alerts = []
    for n in range(40):  # respond-by spread over four hours either side of T, a few exactly on an hour
        post = make_post(n, text=f"Acme is down, report {n}")
        alert = make_alert(post)
        respond_by = T + (n - 20) * 0.25 * HOUR
        alert = replace(alert, respond_by=datetime.fromtimestamp(respond_by, timezone.utc),
                        assessment=replace(alert.assessment, issue=("outage", "billing")[n % 2], urgent=n % 3 == 0))
        alerts.append(alert)
        store.ingest(SourceState("feed", cursor=str(n)), [post], [(alert, {"team": Send(), "mail": Send()})],
                     T - 30 * HOUR + n)
    for alert in alerts[::4]:
        store.ack(alert.id, T - 2 * HOUR, "cli")
    sent_at = T - 25 * HOUR
    while (row := store.claim("team", now=T, lease=60)) is not None:  # one a quarter-hour, over the last day
        assert store.mark_sent(row, sent_at, 200, None)
        sent_at += 0.75 * HOUR
    for now in (T - 0.5 * HOUR, T, T + 1, T + 0.4 * HOUR, T + 3 * HOUR):
        assert tallied(store, now, now - 24 * HOUR) == counted(store, now, now - 24 * HOUR)

    keep = RetentionConfig(open_alerts="29h")  # expires the alerts created before T - 29 h, deletes nothing
    assert store.prune(T, keep, limit=500)["expired"] > 0
    assert tallied(store, T, T - 24 * HOUR) == counted(store, T, T - 24 * HOUR)


def test_status_of_a_store_older_than_the_tallies_counts_the_rows(sqlite_store, tmp_path):
    """`status` while the daemon still runs the version before the upgrade: the store has no tallies yet."""
    for n in range(6):
        post = make_post(n, text=f"Acme is down, report {n}")
        alert = replace(make_alert(post), respond_by=datetime.fromtimestamp(T + (n - 3) * HOUR, timezone.utc))
        sqlite_store.ingest(SourceState("feed", cursor=str(n)), [post], [(alert, {"team": Send()})], T - HOUR)
    row = sqlite_store.claim("team", now=T, lease=60)
    assert sqlite_store.mark_sent(row, T - 60, 200, None)
    settings = parse_settings(f"store: {{path: {tmp_path / 'state.db'}}}\nbrands: [{{name: Acme}}]\n")
    current = collect_status(settings, T)
    sqlite_store._conn.executescript(  # migration 0012 undone, as the store was before it
        "DROP TRIGGER outbox_sent_tally; DROP TRIGGER alert_open_tally_insert; DROP TRIGGER alert_open_tally_ack;"
        " DROP TRIGGER alert_open_tally_delete; DROP TABLE sent_hour; DROP TABLE open_hour; PRAGMA user_version=11;")
    older = collect_status(settings, T)
    assert older["store_problem"] is None
    assert (older["alerts"], older["deliveries"]) == (current["alerts"], current["deliveries"])
    assert older["alerts"]["open"] == 6 and older["alerts"]["late"] == 3
