"""Reloading a running daemon (SIGHUP) with a hostile config: it is rejected with the line that stopped it, the old
config keeps running, and systemd hears READY=1 again on a real NOTIFY_SOCKET."""
from __future__ import annotations

import signal

import pytest

from tests.e2e.servers import HookReceiver, NotifySocket
from tests.e2e.test_daemon import Daemon, feed  # noqa: F401 - the feed fixture
from tests.factories import alias_bomb_mutes, deeply_nested_mutes


@pytest.fixture
def notify():
    receiver = NotifySocket()
    yield receiver
    receiver.close()


@pytest.mark.parametrize("addition, line, problem", [
    (deeply_nested_mutes(), 1, "nested more than 32 levels deep"),
    (*alias_bomb_mutes(), "aliases expand to more than 10,000 values (an alias bomb?)"),
], ids=["deep", "alias_bomb"])
def test_a_hostile_config_is_rejected_on_reload_and_systemd_hears_ready_again(tmp_path, feed, notify,  # noqa: F811
                                                                               addition, line, problem):
    hook = HookReceiver()
    daemon = Daemon(tmp_path, feed, hook, env={"NOTIFY_SOCKET": notify.path}).start()
    try:
        ready = notify.wait_for("READY=1")
        good = daemon.config.read_text()
        daemon.config.write_text(good + addition)
        daemon.proc.send_signal(signal.SIGHUP)

        reloading = notify.wait_for("RELOADING=1", after=ready + 1)
        notify.wait_for("READY=1", after=reloading + 1)
        rejected = daemon.wait_event("reload_rejected")
        assert rejected["problems"] == [f"{daemon.config}:{good.count(chr(10)) + line}: {problem}"]
        feed.add("Acme app down", "The Acme app is down again")  # the old config still works
        assert hook.wait_for(1, timeout=10)
    finally:
        assert daemon.stop() == 0
