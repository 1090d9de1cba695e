"""The daemon's side of leases: a lease its heartbeat keeps is not written again on every poll; acknowledgement
listeners and streams whose lease was lost (a pause longer than the lease) are handed over, not run twice; sources
are shared out between the live daemons on PostgreSQL, and a daemon alone on its SQLite store keeps them all."""
from __future__ import annotations

import time
from pathlib import Path

from structlog.testing import capture_logs

from monitor import app
from monitor.settings import load_settings
from tests.servers import postgres

postgres_server = postgres.postgres_server


async def started(tmp_path: Path, extra: str = "", before_start=None, store: str = "") -> app.Daemon:
    config = tmp_path / "config.yaml"
    store = store or f"path: {tmp_path / 'state.db'}"
    config.write_text(f"store: {{{store}, lease: 30s}}\nbrands: [{{name: Acme}}]\n{extra}")
    daemon = app.Daemon(config, load_settings(config))
    if before_start is not None:
        await daemon.store.run(daemon.store.migrate)
        before_start(daemon.store)
    await daemon.start()
    return daemon


def lease_row(daemon: app.Daemon, name: str) -> str | None:
    """Which daemon holds `name`, as `status` shows it."""
    held = {lease: d["id"] for d in daemon.store.daemons(since=0.0) for lease in d["holds"]}
    return held.get(name)


async def test_a_lease_the_heartbeat_keeps_is_taken_once_not_per_poll(tmp_path):
    daemon = await started(tmp_path)
    try:
        writes = []
        take = daemon.store.take_lease
        daemon.store.take_lease = lambda *args: writes.append(args[0]) or take(*args)
        assert await daemon._claim("source:feed") is True
        assert await daemon._claim("source:feed") is True
        assert await daemon._claim("source:feed") is True
        assert writes == ["source:feed"]
        assert lease_row(daemon, "source:feed") == daemon.daemon_id
    finally:
        await daemon.stop()


async def test_acknowledgement_listeners_stop_when_another_daemon_took_their_lease(tmp_path):
    daemon = await started(tmp_path)
    try:
        assert daemon._acks_running
        later = daemon._held["timer:acks"] + 1  # after a pause longer than the lease, another daemon takes it
        daemon.store.register_daemon("other", "host2", 2, later)
        assert daemon.store.take_lease("timer:acks", "other", later, 30) is True
        with capture_logs() as logs:
            await daemon._heartbeat_job()
        assert not daemon._acks_running
        assert "timer:acks" not in daemon._held
        assert lease_row(daemon, "timer:acks") == "other"
        assert [x["event"] for x in logs] == ["ack_listeners_lease_lost"]
    finally:
        await daemon.stop()


async def test_a_stream_runs_on_the_daemon_holding_its_lease_and_moves_when_the_lease_frees(tmp_path):
    stream = ("sources:\n  live: {type: bluesky_jetstream, url: 'ws://127.0.0.1:9/subscribe', profiles_url: '',"
              " allow_private_network: true}\n")
    now = time.time()

    def other_daemon_streams(store) -> None:
        store.register_daemon("other", "host2", 2, now)
        assert store.take_lease("stream:live", "other", now, 30) is True
    daemon = await started(tmp_path, stream, other_daemon_streams)
    try:
        assert daemon.streams == {}  # one connection per stream, on the daemon that holds it
        daemon.store.stop_daemon("other", time.time())  # it stops and gives its leases back
        await daemon._heartbeat_job()
        assert list(daemon.streams) == ["live"]
        assert lease_row(daemon, "stream:live") == daemon.daemon_id
    finally:
        await daemon.stop()


async def test_a_daemon_holding_more_than_its_share_of_sources_hands_the_surplus_over(tmp_path, postgres_server):
    daemon = await started(tmp_path, store=f'url: "{postgres_server.new_database()}"')
    try:
        names = [f"source:feed{n}" for n in range(4)]
        for name in names:
            assert await daemon._claim(name)
        daemon.store.register_daemon("other", "host2", 2, time.time())  # a second daemon starts, holding nothing
        await daemon._heartbeat_job()
        kept = [name for name in names if name in daemon._held]
        assert len(kept) == 2
        handed_over = [name for name in names if name not in kept]
        assert [await daemon._claim(name) for name in handed_over] == [False, False]  # left to the other one
        assert all(daemon.store.take_lease(name, "other", time.time(), 30) for name in handed_over)
    finally:
        await daemon.stop()


async def test_a_daemon_alone_on_its_sqlite_store_keeps_every_source(tmp_path):
    daemon = await started(tmp_path)
    try:
        names = [f"source:feed{n}" for n in range(4)]
        for name in names:
            assert await daemon._claim(name)
        daemon.store.register_daemon("crashed", "host1", 1, time.time())  # its row, before the restart
        await daemon._heartbeat_job()
        assert all(name in daemon._held for name in names)
    finally:
        await daemon.stop()
