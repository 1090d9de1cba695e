"""Fixtures shared across the test suite."""
import pytest

from monitor.store import Store


@pytest.fixture
def store(tmp_path):
    """A migrated SQLite store on disk, closed after the test."""
    s = Store(tmp_path / "state.db")
    s.migrate()
    yield s
    s.close()
