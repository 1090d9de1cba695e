"""Shared by the source tests: the httpserver fixture on loopback, and a plain client for sources built by hand."""
import httpx
import pytest


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c
