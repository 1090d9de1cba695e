"""Fixtures shared across the test suite."""
import socket

import pytest
from pytest_httpserver import HTTPServer

from monitor.store import SqliteStore


@pytest.fixture
def store(tmp_path):
    """A migrated SQLite store on disk, closed after the test."""
    s = SqliteStore(tmp_path / "state.db")
    s.migrate()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _fresh_logging():
    """Commands under test configure structlog globally; every test starts from structlog's defaults."""
    import structlog
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _forget_secrets():
    """The redactor remembers every secret a loaded config held, for the life of the process; a test's secrets
    must not mask text in the next test."""
    from monitor import redaction
    yield
    redaction._known.clear()


@pytest.fixture(scope="module")
def server():
    """A loopback server per module, threaded: a stalled response must not block the others."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def http(server):
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def hosts(monkeypatch):
    """Names ending in .example.test resolve to 127.0.0.1 (loopback servers under public-looking names)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        return real("127.0.0.1" if name.endswith(".example.test") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
