"""Stopping with polls queued: the queued ones are not started, the one in flight ends quietly."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import app
from monitor.settings import load_settings

FEED = "<rss version='2.0'><channel><title>t</title><item><guid>1</guid><title>Acme news</title></item></channel></rss>"


async def test_stop_with_polls_queued_starts_none_of_them_and_logs_no_traceback(tmp_path: Path, caplog):
    requests: list[str] = []
    arrived = threading.Event()

    def slow_feed(request: Request) -> Response:
        requests.append(request.path)
        arrived.set()
        time.sleep(4)
        return Response(FEED, content_type="application/rss+xml")

    with HTTPServer(threaded=True) as server:
        server.expect_request("/feed").respond_with_handler(slow_feed)
        sources = "\n".join(f'  feed{i}: {{type: rss, url: "{server.url_for("/feed")}?n={i}", every: 1h, jitter: 0s}}'
                            for i in range(6))
        config = tmp_path / "config.yaml"
        config.write_text(f"store: {{path: {tmp_path / 'state.db'}}}\nbrands: [{{name: Acme}}]\n"
                          f"polling: {{concurrency: 1}}\nsources:\n{sources}\n")
        daemon = app.Daemon(config, load_settings(config))
        caplog.set_level(logging.INFO)
        await daemon.start()
        assert await asyncio.to_thread(arrived.wait, 10)
        daemon.request_stop()
        await daemon.stop()

    assert len(requests) == 1  # five polls were still waiting for the one slot: none of them started
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
