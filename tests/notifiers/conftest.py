"""Fixtures for the HTTP notifier tests: a real client, hostile and over-long alerts, a server that never answers."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from monitor.http import make_client
from monitor.models import Alert
from monitor.notifiers.base import sample_alert
from monitor.registry import PluginContext
from tests.notifiers.notifier_fakes import HOSTILE, with_post


@pytest.fixture
def alert() -> Alert:
    return sample_alert()


@pytest.fixture
def hostile_alert() -> Alert:
    alert = sample_alert()
    alert = with_post(alert, title="Acme " + HOSTILE, text="Acme is down " + HOSTILE + "\x1b[31m red \x07",
                      author=dataclasses.replace(alert.mention.post.author, display_name="@here <!channel>",
                                                 handle="everyone"))
    return dataclasses.replace(alert, reply="Sorry " + HOSTILE)


@pytest.fixture
def long_alert() -> Alert:
    """Far over every target's limit, with characters that grow when escaped or encoded."""
    alert = sample_alert()
    text = "Acme " + ("<&> \"quoted\" ünïcødé 😠 @here\n" * 4000)
    return dataclasses.replace(with_post(alert, text=text, title="T" * 5000), reply="R&<" * 5000)


@pytest.fixture
async def ctx():
    async with make_client() as client:
        yield PluginContext(http=client, brands=())


@pytest.fixture
async def silent_url():
    """A server that accepts connections and never answers: for timeouts."""
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()
        finally:
            writer.close()
    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()
