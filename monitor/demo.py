"""`brand-monitor demo`: the real daemon, offline. A sample feed is served on 127.0.0.1 and grows one post
per poll; alerts are printed by the console notifier. State lives in a temporary folder."""
from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

DEMO_POSTS = [
    ("Northwind app down?",
     "Is the Northwind app down for everyone? It won't log me in and support is not answering. Third time this week!"),
    ("Love the new Northwind plan", "Switched to Northwind last month and the speed is excellent. Thanks!"),
    ("Weather today", "Sunny with light wind in the afternoon. Nothing about any company here."),
    ("Northwind не работает", "Northwind опять не работает, ещё жду ответа от поддержки. Ужас."),
    ("Northwind billing", "I was charged twice by Northwind this month, still waiting for a refund."),
    ("Netið hjá Northwind", "Netið hjá Northwind virkar ekki og enn að bíða eftir svari."),
    ("سوال درباره Northwind", "اینترنت Northwind قطع است و هنوز منتظرم، لطفاً بررسی کنید."),
    ("How do I change my Northwind router password?",
     "Can you help? How do I change the Wi-Fi password on the Northwind router?"),
    ("Nortwind support", "Nortwind support never answers my emails."),
    ("Нортвинд", "Нортвинд опять без связи третий день, верните деньги."),
    ("Northwind down?", "Northwind is down for me too, the app won't log me in."),
    ("Still down", "Northwind app still down here, can't log in since this morning."),
]

DEMO_CONFIG = """\
# Written by `brand-monitor demo`. Copy it as a starting point: see config/example.yaml for every option.
store:
  path: {store}
brands:
  - name: Northwind
    keywords: [Northwind]
sources:
  sample_feed:
    type: rss
    url: {url}
    every: 2s
    allow_fast_polling: true   # only for a server of your own, like this one; 30s is the least otherwise
notifiers:
  terminal:
    type: console
routes:
  - name: everything
    when: {{}}
    notify: [terminal]
log:
  level: warning
"""


class _FeedServer:
    """Serves DEMO_POSTS as RSS, revealing three more items on every request."""

    def __init__(self) -> None:
        self.requests = 0
        self.start = datetime.now(timezone.utc)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = server.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def render(self) -> str:
        self.requests += 1
        shown = DEMO_POSTS[: 3 * self.requests]
        items = "".join(
            f"<item><title>{escape(title)}</title><link>https://forum.example/t/{i}</link>"
            f"<guid>https://forum.example/t/{i}</guid><description>{escape(text)}</description>"
            f"<pubDate>{format_datetime(self.start - timedelta(minutes=len(DEMO_POSTS) - i))}</pubDate></item>"
            for i, (title, text) in enumerate(shown))
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Sample forum</title>'
                f"<link>https://forum.example/</link><description>demo</description>{items}</channel></rss>")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


async def run_demo(seconds: float, keep: bool = False) -> int:
    """Run the real daemon against a sample feed for `seconds` (Ctrl-C ends it early); `keep` leaves the config
    and database behind for the user to copy and inspect."""
    from .app import Daemon
    from .settings import load_settings

    feed = _FeedServer()
    folder = Path(tempfile.mkdtemp(prefix="brand-monitor-demo-"))
    try:
        config = folder / "config.yaml"
        config.write_text(DEMO_CONFIG.format(store=folder / "state.db", url=feed.url), encoding="utf-8")
        print(f"brand-monitor demo: polling {feed.url} every 2s for {seconds:.0f}s (Ctrl-C to stop early)\n",
              flush=True)
        daemon = Daemon(config, load_settings(config))
        runner = asyncio.create_task(daemon.run())
        await asyncio.wait([runner], timeout=seconds)  # the daemon's own SIGINT handling ends it early
        daemon.request_stop()
        await runner
    finally:
        feed.close()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    print("demo finished: each mention was matched, triaged, routed and delivered once; "
          "the third similar outage report opened an incident instead of another alert.")
    print(f"kept: {config} and its database (try: brand-monitor status --config {config})" if keep
          else "run with --keep to keep its config and database")
    return 0
