import sqlite3
from dataclasses import replace

import psycopg
import pytest
from structlog.testing import capture_logs

from monitor.models import Alert, Send
from monitor.routing.incidents import Incident, incident_alert
from monitor.settings import IncidentConfig
from monitor.sources.base import SourceState
from monitor.store import SqliteStore, StoreError
from tests.factories import make_alert, make_post


def ingest(store, posts, destinations=("team",), now=100.0, state=None):
    alerts = [(make_alert(p), dict.fromkeys(destinations, Send())) for p in posts]
    return store.ingest(state or SourceState("feed", cursor="c1"), posts, alerts, now)


def test_sqlite_settings(sqlite_store):
    assert sqlite_store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite_store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations(store):
    assert store.schema_version() == 12
    assert store.migrate() == 12
    assert store.migrate() == 12  # idempotent


def test_ingest_stores_everything_in_one_go_and_dedups(store):
    posts = [make_post(1), make_post(2)]
    assert ingest(store, posts, ("team", "oncall")) == 4
    assert store.load_source_state("feed").cursor == "c1"
    assert store.unseen(posts + [make_post(3)]) == [make_post(3)]
    assert ingest(store, posts) == 0  # seen again: nothing new


def test_same_url_from_two_sources_alerts_once(store):
    ingest(store, [make_post(1, source_id="a")])
    assert store.unseen([make_post(1, source_id="b")]) == []


def test_failed_ingest_changes_nothing(store):
    good, bad = make_post(1), make_post(2)
    with pytest.raises((sqlite3.Error, psycopg.Error)):  # the second alert cannot be stored: the first vanishes too
        store.ingest(SourceState("feed", cursor="new"), [good, bad],
                     [(make_alert(good), {"team": Send()}), (make_alert(bad), {object(): Send()})], 1.0)
    assert store.load_source_state("feed").cursor is None
    assert store.unseen([good, bad]) == [good, bad]
    assert store.outbox_counts() == {}


def test_claim_lease_and_fencing(store):
    ingest(store, [make_post(1)])
    row = store.claim("team", now=100.0, lease=60)
    assert row is not None and row.attempts == 1
    assert isinstance(row.alert(), Alert) and row.alert().mention.post.id == "1"
    assert store.claim("team", now=120.0, lease=60) is None          # leased
    stolen = store.claim("team", now=161.0, lease=60)                # lease expired: a restart re-claims
    assert stolen is not None and stolen.attempts == 2
    assert store.mark_sent(row, 170.0, 200, None) is False           # the old sender is fenced out
    assert store.mark_sent(stolen, 170.0, 200, "m1") is True
    assert store.claim("team", now=1000.0, lease=60) is None
    assert store.outbox_counts() == {"team": {"sent": 1}}


def test_a_starting_daemon_takes_back_only_its_own_store_s_deliveries_in_flight(store):
    """Alone on its store (SQLite), a daemon's rows left 'sending' are from its own last run: due again at once.
    On a shared store (PostgreSQL) they may be another daemon's sends in progress: left to their leases."""
    ingest(store, [make_post(1)])
    row = store.claim("team", now=100.0, lease=60)
    if store.multi_daemon:
        assert store.recover_in_flight() == 0
        assert store.claim("team", now=120.0, lease=60) is None           # still the other daemon's
        assert store.mark_sent(row, 130.0, 200, "m1") is True             # which delivers it once
        assert store.claim("team", now=200.0, lease=60) is None
    else:
        assert store.recover_in_flight() == 1
        again = store.claim("team", now=120.0, lease=60)
        assert again is not None and again.alert_id == row.alert_id


def test_retry_waits_until_due(store):
    ingest(store, [make_post(1)])
    row = store.claim("team", 100.0, 60)
    store.mark_retry(row, 100.0, 150.0, "HTTP 503")
    assert store.claim("team", 149.0, 60) is None
    assert store.next_due_at("team") == 150.0
    assert store.claim("team", 150.0, 60).attempts == 2


def test_dead_letter_goes_to_fallback(store):
    ingest(store, [make_post(1)])
    row = store.claim("team", 100.0, 60)
    store.mark_dead(row, 100.0, "HTTP 410", fallback="email")
    assert store.outbox_counts() == {"team": {"dead": 1}, "email": {"pending": 1}}
    assert store.dead_letters()[0]["last_error"] == "HTTP 410"
    assert store.claim("email", 100.0, 60).alert_id == row.alert_id


def test_release_does_not_count_the_attempt(store):
    ingest(store, [make_post(1)])
    row = store.claim("team", 100.0, 60)
    store.release(row)
    assert store.claim("team", 100.0, 60).attempts == 1


def test_ack_and_open_alerts(store):
    billing = make_alert(make_post(2))
    billing = replace(billing, assessment=replace(billing.assessment, issue="billing", urgent=True))
    store.ingest(SourceState("feed", cursor="c1"), [make_post(1), make_post(2)],
                 [(make_alert(make_post(1)), {"team": Send()}), (billing, {"team": Send()})], 100.0)
    alert_id = store.claim("team", 100.0, 60).alert_id
    respond_by = billing.respond_by.timestamp()
    assert store.open_alerts(respond_by + 1) == {"open": 2, "late": 2}
    assert store.open_alerts_by_issue() == {"other": {"open": 1, "urgent": 0}, "billing": {"open": 1, "urgent": 1}}
    assert store.ack(alert_id, 5.0) is True
    assert store.ack(alert_id, 6.0) is False
    assert store.open_alerts(0) == {"open": 1, "late": 0}
    assert store.open_alerts_by_issue() == {"billing": {"open": 1, "urgent": 1}}


def test_readonly_store_cannot_write(sqlite_store, tmp_path):
    ingest(sqlite_store, [make_post(1)])
    reader = SqliteStore(tmp_path / "state.db", readonly=True)
    assert reader.outbox_counts() == {"team": {"pending": 1}}
    with pytest.raises(sqlite3.OperationalError):
        reader.ack("x", 1.0)
    reader.close()


def test_acknowledgement_lookups_by_remote_message_id(store):
    ingest(store, [make_post(1), make_post(2)])
    first, second = store.claim("team", 100.0, 60), store.claim("team", 100.0, 60)
    store.mark_sent(first, 101.0, 200, "$event1")
    store.mark_sent(second, 102.0, 200, "$event2")
    assert store.open_deliveries("team", since=0.0) == [(first.alert_id, "$event1"), (second.alert_id, "$event2")]
    assert store.alert_for_remote_id("team", "$event2") == second.alert_id
    assert store.ack(second.alert_id, 103.0, by="matrix:@ana:example.org")
    assert store.open_deliveries("team", since=0.0) == [(first.alert_id, "$event1")]
    assert store.alert_for_remote_id("team", "$nope") is None


def test_alert_ids_by_unique_prefix(store):
    posts = [make_post(n) for n in (1, 2, 3)]
    ids = ["abcd1234aaaaaaaaaaaa", "abcd5678bbbbbbbbbbbb", "incident-0123456789abcdef-3"]
    alerts = [(replace(make_alert(p), id=i), {"team": Send()}) for p, i in zip(posts, ids)]
    store.ingest(SourceState("feed", cursor="c1"), posts, alerts, 100.0)
    assert store.alert_ids_starting("abcd1234") == [ids[0]]
    assert store.alert_ids_starting("abcd") == ids[:2]            # ambiguous: the caller asks for more
    assert store.alert_ids_starting("incident-01234567") == [ids[2]]
    assert store.alert_ids_starting("abc") == [] and store.alert_ids_starting("abcd%") == []


# -- a failing database ------------------------------------------------------------------------------------

async def test_a_locked_database_fails_the_check_until_a_write_succeeds(sqlite_store, tmp_path):
    path = tmp_path / "state.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock past the store's 5 s busy timeout
    with capture_logs() as logs:
        with pytest.raises(StoreError, match=f"^store {path}: database is locked$"):
            await sqlite_store.run(sqlite_store.save_source_state, SourceState("feed", cursor="c2"))
        with pytest.raises(StoreError, match="database is locked"):
            await sqlite_store.run(sqlite_store.check)  # the lock is not tried again, the failure is remembered
        other.execute("ROLLBACK")
        other.close()
        await sqlite_store.run(sqlite_store.save_source_state, SourceState("feed", cursor="c2"))
        await sqlite_store.run(sqlite_store.check)
    assert [(e["event"], e["store"], e.get("error")) for e in logs] == [
        ("store_failed", str(path), "database is locked"), ("store_recovered", str(path), None)]
    assert sqlite_store.load_source_state("feed").cursor == "c2"


def replace_with_garbage(path):
    garbage = path.with_name("garbage")
    garbage.write_bytes(b"not a database" * 100)
    garbage.replace(path)


@pytest.mark.parametrize("change, reason", [(lambda path: path.unlink(), "the file was deleted while in use"),
                                            (replace_with_garbage, "the file was replaced while in use")])
async def test_a_deleted_or_replaced_file_fails_the_check(sqlite_store, tmp_path, change, reason):
    await sqlite_store.run(sqlite_store.check)
    change(tmp_path / "state.db")
    with capture_logs() as logs, pytest.raises(StoreError, match=f"^store {tmp_path / 'state.db'}: {reason}$"):
        await sqlite_store.run(sqlite_store.check)
    assert [e["event"] for e in logs] == ["store_failed"]


def test_a_file_that_is_not_a_database_is_refused_at_open_naming_it(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"SQLite format 2\0" + b"\xff" * 4096)
    for readonly in (False, True):
        with pytest.raises(StoreError, match=f"^store {path}: file is not a database$"):
            SqliteStore(path, readonly=readonly)


async def test_a_query_bug_is_not_a_failing_store(store):
    post = make_post(1)
    with pytest.raises((sqlite3.ProgrammingError, psycopg.ProgrammingError)):  # a notifier id nobody can bind
        await store.run(store.ingest, SourceState("feed"), [post], [(make_alert(post), {object(): Send()})], 1.0)
    assert store.failure is None
    await store.run(store.check)


def test_incident_notices_are_alerts_of_their_own_kind_never_counted_as_reports(store):
    post = make_post(1)
    report = make_alert(post)
    incident = Incident(id="0123456789abcdef", brand="Acme", category="outage", opened_at=90.0, updated_at=100.0,
                        members=3, notified_members=0, language="en", destinations=("team",))
    notice = incident_alert(incident, [report], IncidentConfig())
    assert notice.kind == "incident" and report.kind == "mention"
    store.ingest(SourceState("feed", cursor="c1"), [post, notice.mention.post],
                 [(report, {"team": Send()}), (notice, {"team": Send()})], 100.0)
    assert store.recent_negative(50.0) == {"Acme": 1}  # the notice is negative outage too, but not a report
    _, reports = store.incident_context({("Acme", "outage")}, 50.0)
    assert [r.alert_id for r in reports[("Acme", "outage")]] == [report.id]
