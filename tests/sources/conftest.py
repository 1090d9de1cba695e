"""Shared by the source tests: loopback test servers, and a plain client for sources built by hand."""
import httpx
import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


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
