"""Moving an install from SQLite to PostgreSQL: history, cursors, the outbox and acknowledgements come along."""
from monitor.cli import main
from monitor.models import Send
from monitor.sources.base import SourceState
from monitor.store import SqliteStore
from monitor.store.postgres import PostgresStore
from tests.factories import make_alert, make_post


def seed(path):
    store = SqliteStore(path)
    store.migrate()
    posts = [make_post(n) for n in (1, 2, 3)]
    store.ingest(SourceState("feed", cursor="c42"), posts, [(make_alert(p), {"team": Send()}) for p in posts], 100.0)
    sent = store.claim("team", 100.0, 60)
    store.mark_sent(sent, 101.0, 200, "$event1")
    store.ack(sent.alert_id, 102.0, by="matrix:@ana:example.org")
    store.save_listener_state("matrix:room", True, 99.0, None)
    store.close()
    return posts, sent.alert_id


def test_migrate_from_sqlite_to_postgresql_keeps_everything(tmp_path, postgres_server, capsys):
    posts, acked = seed(tmp_path / "state.db")
    url = postgres_server.new_database()
    assert main(["migrate", "--from", str(tmp_path / "state.db"), "--to", url]) == 0
    assert "3 post, 3 mention, 3 alert, 3 outbox, 1 delivery" in capsys.readouterr().out
    store = PostgresStore(url)
    assert store.unseen(posts) == []                                   # no old post alerts again
    assert store.load_source_state("feed").cursor == "c42"
    assert store.ack(acked, 200.0) is False                            # still acknowledged
    assert store.alert_for_remote_id("team", "$event1") == acked
    assert store.outbox_counts() == {"team": {"pending": 2, "sent": 1}}
    assert store.listener_states()[0]["listener"] == "matrix:room"
    new = make_post(4)                                                 # new rows get ids after the copied ones
    assert store.ingest(SourceState("feed"), [new], [(make_alert(new), {"team": Send()})], 300.0) == 1
    store.close()
    assert main(["migrate", "--from", str(tmp_path / "state.db"), "--to", url]) == 2  # never into a used database
    assert "is not empty" in capsys.readouterr().err


def test_migrate_applies_the_configured_stores_migrations(tmp_path, postgres_server, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {{url: '{postgres_server.new_database()}'}}\nbrands: [{{name: Acme}}]\n")
    assert main(["migrate", "--config", str(config)]) == 0
    assert capsys.readouterr().out.endswith(": schema 12\n")
