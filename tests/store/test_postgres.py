"""What only the PostgreSQL backend has: a connection that can be lost, a URL that may hold a password."""
import psycopg
import pytest
from structlog.testing import capture_logs

from monitor.sources.base import SourceState
from monitor.store import StoreError
from monitor.store.postgres import PostgresStore


@pytest.fixture
def pg_store(postgres_server):
    url = postgres_server.new_database().replace("postgres@", "postgres:hunter2-secret@")  # trust: any password
    store = PostgresStore(url)
    store.migrate()
    yield store
    store.close()


def kick_out(postgres_server, store):
    """The server ends the store's session, as a restart or a failover would."""
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=%s"
                              " AND application_name='brand-monitor'", (store.name.rsplit("/", 1)[1],)).fetchall()
    assert ended == [(True,)]


async def test_a_lost_connection_fails_the_check_until_a_write_succeeds(postgres_server, pg_store):
    kick_out(postgres_server, pg_store)
    with capture_logs() as logs:
        with pytest.raises(StoreError, match=r"^store postgresql://postgres:\*\*\*@127\.0\.0\.1:\d+/test_\w+: "
                                             r"terminating connection due to administrator command$"):
            await pg_store.run(pg_store.save_source_state, SourceState("feed", cursor="c2"))
        with pytest.raises(StoreError, match="terminating connection"):
            await pg_store.run(pg_store.check)  # remembered until a write succeeds
        await pg_store.run(pg_store.save_source_state, SourceState("feed", cursor="c2"))  # connects again
        await pg_store.run(pg_store.check)
    assert [e["event"] for e in logs] == ["store_failed", "store_recovered"]
    assert "hunter2" not in repr(logs)
    assert pg_store.load_source_state("feed").cursor == "c2"


def test_an_unreachable_server_is_refused_at_open_naming_it():
    from tests.servers.ports import free_port
    url = f"postgresql://bm:hunter2-secret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(StoreError, match=r"^store postgresql://bm:\*\*\*@127\.0\.0\.1:\d+/nothing: .*refused"):
        PostgresStore(url)


def test_a_second_daemon_finds_the_schema_migrated(postgres_server):
    url = postgres_server.new_database()
    first, second = PostgresStore(url), PostgresStore(url)
    assert first.migrate() == second.migrate() == 12
    assert first._read("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1
    first.close()
    second.close()
