"""The store tests run against both backends: SQLite in a temporary folder, and an empty database on the
session's throwaway PostgreSQL cluster (tests/servers/postgres.py)."""
import pytest

from monitor.store import SqliteStore
from tests.servers import postgres

postgres_server = postgres.postgres_server


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """A migrated store of each backend, closed after the test."""
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "state.db")
    else:
        from monitor.store.postgres import PostgresStore
        s = PostgresStore(request.getfixturevalue("postgres_server").new_database())
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path):
    """For what only SQLite has: its file, its pragmas, its locks."""
    s = SqliteStore(tmp_path / "state.db")
    s.migrate()
    yield s
    s.close()
