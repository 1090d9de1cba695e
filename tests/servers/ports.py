"""Small helpers shared by the real-server fixtures."""
from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (servers that cannot bind port 0 need one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose real server cannot run here, or fail it when CI demands servers (BM_REQUIRE_SERVERS=1)."""
    if os.environ.get("BM_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason}\n(BM_REQUIRE_SERVERS=1: real servers are required)", pytrace=False)
    pytest.skip(reason)
