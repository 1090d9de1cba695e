"""sd_notify against a real unix datagram socket standing in for systemd's NOTIFY_SOCKET."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import CapturingLogger

from monitor.runtime import systemd


class NotifyReceiver:
    """What systemd's side of NOTIFY_SOCKET sees: one datagram per message."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self) -> bytes:
        self.sock.settimeout(1.0)
        return self.sock.recv(65536)

    def assert_empty(self) -> None:
        self.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            self.sock.recv(65536)


@pytest.fixture(autouse=True)
def captured_log(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    monkeypatch.setattr(systemd, "_failing", False)
    capture = CapturingLogger()
    monkeypatch.setattr(systemd, "log", structlog.wrap_logger(capture, processors=[]))
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    return capture


@pytest.fixture
def short_dir() -> Iterator[str]:
    # Unix socket paths are limited to 108 bytes; pytest's tmp_path can be longer.
    path = tempfile.mkdtemp(prefix="bm-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["path", "abstract"])
def receiver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
             short_dir: str) -> Iterator[NotifyReceiver]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        name = os.path.join(short_dir, "notify")
        sock.bind(name)
    else:
        name = f"@brand-monitor-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name[1:])
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    yield NotifyReceiver(sock)
    sock.close()


@pytest.mark.parametrize(("send", "expected"), [
    (lambda: systemd.notify_ready(), b"READY=1"),
    (lambda: systemd.notify_ready("polling 3 sources, 0 pending alerts"),
     b"READY=1\nSTATUS=polling 3 sources, 0 pending alerts"),
    (lambda: systemd.notify_stopping(), b"STOPPING=1"),
    (lambda: systemd.notify_watchdog(), b"WATCHDOG=1"),
    (lambda: systemd.notify_status("polling 5 sources"), b"STATUS=polling 5 sources"),
    (lambda: systemd.notify_extend_timeout(1.5), b"EXTEND_TIMEOUT_USEC=1500000"),
    (lambda: systemd.sd_notify("STATUS=x", "ERRNO=0"), b"STATUS=x\nERRNO=0"),
])
def test_message_arrives_as_one_exact_datagram(receiver: NotifyReceiver, send, expected: bytes) -> None:
    assert send() is True
    assert receiver.recv() == expected
    receiver.assert_empty()


def test_reloading_carries_current_monotonic_time_in_same_datagram(receiver: NotifyReceiver) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert systemd.notify_reloading() is True
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000

    first, second = receiver.recv().split(b"\n")
    assert first == b"RELOADING=1"
    key, _, value = second.partition(b"=")
    assert key == b"MONOTONIC_USEC"
    assert before <= int(value) <= after
    receiver.assert_empty()


def test_status_text_cannot_inject_fields(receiver: NotifyReceiver) -> None:
    assert systemd.notify_status("feed said:\nREADY=1\r\nSTOPPING=1") is True
    assert receiver.recv() == b"STATUS=feed said: READY=1 STOPPING=1"


def test_status_is_capped_and_encodable(receiver: NotifyReceiver) -> None:
    assert systemd.notify_status("\udcff" + "x" * 1000) is True
    payload = receiver.recv()
    assert payload.startswith(b"STATUS=?x")
    assert len(payload) == len("STATUS=") + systemd.MAX_STATUS


@pytest.mark.parametrize("field", ["READY=1\nSTOPPING=1", "READY"])
def test_malformed_field_is_a_programming_error(field: str) -> None:
    with pytest.raises(ValueError):
        systemd.sd_notify(field)


@pytest.mark.parametrize("value", [None, ""])
def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                              captured_log: CapturingLogger) -> None:
    if value is not None:
        monkeypatch.setenv("NOTIFY_SOCKET", value)
    assert systemd.notify_ready() is False
    assert systemd.notify_watchdog() is False
    assert captured_log.calls == []


def test_dead_socket_returns_false_and_logs_once(monkeypatch: pytest.MonkeyPatch, short_dir: str,
                                                captured_log: CapturingLogger) -> None:
    path = os.path.join(short_dir, "notify")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(path)
    dead.close()  # the file stays, nobody listens: ECONNREFUSED
    monkeypatch.setenv("NOTIFY_SOCKET", path)

    assert systemd.notify_watchdog() is False
    assert systemd.notify_watchdog() is False

    assert [call.method_name for call in captured_log.calls] == ["warning"]
    call = captured_log.calls[0]
    assert call.kwargs["event"] == "sd_notify_failed"
    assert call.kwargs["notify_socket"] == path
    assert "ConnectionRefusedError" in call.kwargs["error"]


def test_failure_log_rearms_after_a_successful_send(monkeypatch: pytest.MonkeyPatch, short_dir: str,
                                                   captured_log: CapturingLogger) -> None:
    missing = os.path.join(short_dir, "missing")
    monkeypatch.setenv("NOTIFY_SOCKET", missing)
    assert systemd.notify_watchdog() is False

    live_path = os.path.join(short_dir, "live")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as live:
        live.bind(live_path)
        monkeypatch.setenv("NOTIFY_SOCKET", live_path)
        assert systemd.notify_watchdog() is True
        assert live.recv(64) == b"WATCHDOG=1"

    monkeypatch.setenv("NOTIFY_SOCKET", missing)
    assert systemd.notify_watchdog() is False
    assert [call.kwargs["event"] for call in captured_log.calls] == ["sd_notify_failed", "sd_notify_failed"]
    assert "FileNotFoundError" in captured_log.calls[1].kwargs["error"]


def test_relative_socket_name_is_refused(monkeypatch: pytest.MonkeyPatch, captured_log: CapturingLogger) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "notify.sock")
    assert systemd.notify_ready() is False
    assert [call.kwargs["event"] for call in captured_log.calls] == ["sd_notify_failed"]


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"WATCHDOG_USEC": "60000000"}, 20.0),
    ({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}, 1.0),
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "not-a-pid"}, None),
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "-5"}, None),
    ({"WATCHDOG_USEC": "sixty"}, None),
    ({"WATCHDOG_USEC": "²"}, None),
])
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert systemd.watchdog_interval(env) == expected


def test_watchdog_interval_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == 20.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert systemd.watchdog_interval() is None


@pytest.mark.parametrize(("env", "expected"), [
    ({}, False),
    ({"JOURNAL_STREAM": "8:12345"}, True),
    ({"INVOCATION_ID": "0123456789abcdef0123456789abcdef"}, True),
    ({"NOTIFY_SOCKET": "/run/systemd/notify"}, True),
    ({"JOURNAL_STREAM": ""}, False),
])
def test_under_systemd(env: dict[str, str], expected: bool) -> None:
    assert systemd.under_systemd(env) is expected
