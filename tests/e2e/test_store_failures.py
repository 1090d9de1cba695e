"""A database that fails under a running daemon: a real SQLite file made unusable, the real /healthz on loopback and
a real NOTIFY_SOCKET. Health must flip, the watchdog pings must stop (so systemd restarts the daemon), one log line
must name the file and the error, and no alert may be lost."""
from __future__ import annotations

import resource
import subprocess
import sys
import threading

import httpx
import pytest

from tests.e2e.servers import HookReceiver, NotifySocket
from tests.e2e.test_daemon import Daemon, feed  # noqa: F401 - the feed fixture

WATCHDOG = {"WATCHDOG_USEC": "1500000"}  # a ping every 0.5 s


@pytest.fixture
def notify():
    receiver = NotifySocket()
    yield receiver
    receiver.close()


class PipedDaemon(Daemon):
    """Its output reaches the log file through a pipe, so that a file-size limit put on the daemon's process
    hits its database and not its log."""

    def start(self) -> "PipedDaemon":
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(self.config)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env)
        self._copier = threading.Thread(target=self._copy_log)
        self._copier.start()
        return self

    def _copy_log(self) -> None:
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()

    def stop(self, sig=None, timeout: float = 20.0) -> int:
        self.proc.terminate()
        code = self.proc.wait(timeout=timeout)
        self._copier.join()
        self.log.close()
        return code


def healthz(daemon: Daemon) -> int:
    return httpx.get(f"http://127.0.0.1:{daemon.metrics_port}/healthz").status_code


def assert_watchdog_stopped(notify: NotifySocket) -> str:
    """Once the daemon reports itself unhealthy it must not ping the watchdog again; returns its status line."""
    first = notify.wait_for("STATUS=unhealthy")
    later = first
    for _ in range(3):  # three more watchdog periods
        later = notify.wait_for("STATUS=unhealthy", after=later + 1)
    assert "WATCHDOG=1" not in notify.messages[first:later + 1]
    return notify.messages[first]


def test_a_full_disk_flips_health_stops_the_watchdog_and_loses_no_alert(tmp_path, feed, notify):  # noqa: F811
    hook = HookReceiver()
    feed.add("Acme app down", "The Acme app is down again")
    daemon = PipedDaemon(tmp_path, feed, hook, env={"NOTIFY_SOCKET": notify.path, **WATCHDOG}).start()
    try:
        daemon.wait_event("alert_delivered", timeout=30)
        notify.wait_for("WATCHDOG=1")
        assert healthz(daemon) == 200
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (0, 0))  # from now on no file may grow
        feed.add("Acme charged me twice", "Acme billed me twice this month and nobody answers")

        failed = daemon.wait_event("store_failed", timeout=30)
        assert (failed["store"], failed["error"]) == (str(tmp_path / "state.db"), "disk I/O error")
        assert healthz(daemon) == 503
        status = assert_watchdog_stopped(notify)
        assert status == f"STATUS=unhealthy, waiting for the watchdog to restart it: store {tmp_path / 'state.db'}:" \
                         " disk I/O error"
        daemon.wait_event("poll_completed")  # nothing below the store is logged over and over
        log = daemon.log_path.read_text()
        assert log.count('"store_failed"') == 1 and "Traceback" not in log
    finally:
        daemon.stop()

    restarted = Daemon(tmp_path, feed, hook).start()  # what systemd does after the watchdog fires
    try:
        assert hook.wait_for(2, timeout=30)
        assert {body["data"]["post"]["title"] for _, _, body in hook.received} == {
            "Acme app down", "Acme charged me twice"}
    finally:
        assert restarted.stop() == 0


def test_a_replaced_database_file_flips_health(tmp_path, feed, notify):  # noqa: F811
    daemon = Daemon(tmp_path, feed, HookReceiver(), env={"NOTIFY_SOCKET": notify.path, **WATCHDOG}).start()
    path = tmp_path / "state.db"
    try:
        notify.wait_for("WATCHDOG=1")
        assert healthz(daemon) == 200
        garbage = tmp_path / "copied-over"
        garbage.write_bytes(b"\0garbage" * 4096)
        garbage.replace(path)

        failed = daemon.wait_event("store_failed")
        assert (failed["store"], failed["error"]) == (str(path), "the file was replaced while in use")
        assert healthz(daemon) == 503
        assert assert_watchdog_stopped(notify).endswith(f"store {path}: the file was replaced while in use")
    finally:
        assert daemon.stop() == 0
