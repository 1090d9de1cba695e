"""The systemd notify protocol (sd_notify) without libsystemd.

Each message is one datagram of newline-separated KEY=VALUE fields sent to the unix
socket named by $NOTIFY_SOCKET ("/path" or "@abstract"). Outside systemd every call
is a no-op returning False; socket errors are logged once and never raised, because
a lost notification must not take the daemon down.
"""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

import structlog

log = structlog.get_logger()

SEND_TIMEOUT = 1.0   # seconds; a wedged systemd must not stall the event loop for long
MAX_STATUS = 400     # characters; systemctl status shows one line

_failing = False     # True while sends fail, so the failure is logged once, not every ping


def sd_notify(*fields: str) -> bool:
    """Send `fields` as one datagram to $NOTIFY_SOCKET. True if it was sent."""
    for field in fields:
        if "=" not in field or "\n" in field:
            raise ValueError(f"malformed sd_notify field: {field!r}")
    target = os.environ.get("NOTIFY_SOCKET", "")
    if not target or not fields:
        return False
    try:
        _send(_socket_address(target), "\n".join(fields).encode("utf-8"))
    except (OSError, ValueError) as exc:
        _report_failure(target, exc)
        return False
    _mark_recovered()
    return True


def _socket_address(target: str) -> str:
    if target.startswith("@"):
        return "\0" + target[1:]  # Linux abstract namespace
    if target.startswith("/"):
        return target
    raise ValueError("NOTIFY_SOCKET is neither a path nor an @abstract name")


def _send(address: str, payload: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(SEND_TIMEOUT)
        sock.connect(address)
        sock.sendall(payload)


def _report_failure(target: str, exc: Exception) -> None:
    global _failing
    if not _failing:
        log.warning("sd_notify_failed", notify_socket=target, error=f"{type(exc).__name__}: {exc}")
    _failing = True


def _mark_recovered() -> None:
    global _failing
    _failing = False


def notify_ready(status: str | None = None) -> bool:
    """Startup (or a reload) finished; optionally set the status line in the same datagram."""
    fields = ["READY=1"]
    if status is not None:
        fields.append(f"STATUS={_clean_status(status)}")
    return sd_notify(*fields)


def notify_reloading() -> bool:
    """A reload begins. MONOTONIC_USEC lets Type=notify-reload (systemd >= 253) match it to the request."""
    now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return sd_notify("RELOADING=1", f"MONOTONIC_USEC={now_usec}")


def notify_stopping() -> bool:
    return sd_notify("STOPPING=1")


def notify_watchdog() -> bool:
    return sd_notify("WATCHDOG=1")


def notify_status(text: str) -> bool:
    """Set the one-line status shown by `systemctl status`."""
    return sd_notify(f"STATUS={_clean_status(text)}")


def notify_extend_timeout(seconds: float) -> bool:
    """Ask for `seconds` more before the start/stop timeout fires (long migrations, slow drains)."""
    return sd_notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")


def _clean_status(text: str) -> str:
    # Status text may quote config or feed content: a newline would start a new field
    # (e.g. a forged READY=1), and lone surrogates cannot be encoded.
    one_line = " ".join(text.split())
    return one_line[:MAX_STATUS].encode("utf-8", "replace").decode("utf-8")


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (WatchdogSec/3), or None when the watchdog is off for us."""
    env = os.environ if environ is None else environ
    usec = _positive_int(env.get("WATCHDOG_USEC"))
    if usec is None:
        return None
    pid_text = env.get("WATCHDOG_PID")
    if pid_text is not None and _positive_int(pid_text) != os.getpid():
        return None  # the variable was meant for another process (e.g. our parent)
    return usec / 3 / 1_000_000


def _positive_int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value > 0 else None


def under_systemd(environ: Mapping[str, str] | None = None) -> bool:
    """True when started by systemd (used to choose JSON logs for the journal)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in ("JOURNAL_STREAM", "INVOCATION_ID", "NOTIFY_SOCKET"))
