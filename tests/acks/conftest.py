"""Fixtures for the acknowledgement listener tests."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from monitor.http import make_client


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as client:
        yield client
