"""Shared by the source tests: the httpserver fixture on loopback, a plain client for sources built by hand, and a
webhook receiver for the streams that run in the real daemon."""
import httpx
import pytest

from tests.e2e.servers import HookReceiver


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def hook():
    receiver = HookReceiver()
    yield receiver
    receiver.close()
