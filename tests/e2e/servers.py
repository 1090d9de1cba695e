"""Real HTTP servers on 127.0.0.1 for end-to-end tests: a feed whose items the test changes, and a webhook
receiver that records every request (optionally slowly, like a struggling chat service); and a NOTIFY_SOCKET
standing in for systemd."""
from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


class _Server:
    def __init__(self, handler_factory):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_factory(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FeedServer(_Server):
    """An RSS 2.0 feed at /feed.xml; `add(title, text)` publishes one more item."""

    def __init__(self, site: str = "forum.example"):
        self.site = site  # the host of the items' links: posts of feeds on different sites are different posts
        self.items: list[tuple[str, str, str]] = []
        self.requests = 0
        self.lock = threading.Lock()
        super().__init__(_feed_handler)
        self.url = f"http://127.0.0.1:{self.port}/feed.xml"

    def add(self, title: str, text: str) -> str:
        with self.lock:
            guid = f"https://{self.site}/t/{len(self.items) + 1}"
            self.items.append((guid, title, text))
        return guid

    def render(self) -> bytes:
        now = format_datetime(datetime.now(timezone.utc))
        with self.lock:
            items = "".join(f"<item><guid>{g}</guid><link>{g}</link><title>{escape(t)}</title>"
                            f"<description>{escape(x)}</description><pubDate>{now}</pubDate></item>"
                            for g, t, x in self.items)
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
                f"<link>https://forum.example/</link><description>d</description>{items}</channel></rss>").encode()


def _feed_handler(server: FeedServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            server.requests += 1
            body = server.render()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    return Handler


class HookReceiver(_Server):
    """Accepts webhook POSTs, answering 200 after `delay` seconds; keeps (arrival time, headers, JSON body)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received: list[tuple[float, dict, dict]] = []
        super().__init__(_hook_handler)
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def alert_ids(self) -> list[str]:
        return [body["id"] for _, _, body in list(self.received)]

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.05)
        return False


class IdempotentHook(HookReceiver):
    """A webhook that honours Idempotency-Key, like a service that absorbs repeats: `delivered` maps each key to its
    alert id, `repeats` counts the requests absorbed. It takes a moment per request (20 ms), so that deliveries are
    in flight when a daemon is killed."""

    def __init__(self, delay: float = 0.02):
        super().__init__(delay)

    @property
    def delivered(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for _, headers, body in list(self.received):
            first.setdefault(headers["Idempotency-Key"], body["id"])
        return first

    @property
    def repeats(self) -> int:
        return len(self.received) - len(self.delivered)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.delivered) < count:
            time.sleep(0.05)
        return len(self.delivered) >= count


def _hook_handler(server: HookReceiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(server.delay)
            server.received.append((time.monotonic(), dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass
    return Handler


class EchoingTelegram(_Server):
    """A Telegram Bot API that refuses every bot token with Telegram's own 401 reply, and repeats the request
    path (the token in it) in the description and in a header, as some proxies and API mirrors do."""

    def __init__(self):
        self.requests = 0
        super().__init__(_echoing_telegram_handler)
        self.url = f"http://127.0.0.1:{self.port}"


def _echoing_telegram_handler(server: EchoingTelegram):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            server.requests += 1
            body = json.dumps({"ok": False, "error_code": 401,
                               "description": f"Unauthorized: invalid token in {self.path}"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Request-Path", self.path)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    return Handler


class NotifySocket:
    """systemd's side of NOTIFY_SOCKET: a unix datagram socket that keeps every message the daemon sends."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="bm-", dir="/tmp")  # socket paths are limited to 108 bytes
        self.path = os.path.join(self.folder, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages: list[str] = []
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        while True:
            try:
                self.messages.append(self.sock.recv(65536).decode())
            except OSError:
                return

    def wait_for(self, prefix: str, after: int = 0, timeout: float = 20.0) -> int:
        """The index of the first message from `after` on that starts with `prefix`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, message in enumerate(self.messages[after:], after):
                if message.startswith(prefix):
                    return i
            time.sleep(0.05)
        raise AssertionError(f"no {prefix!r} message within {timeout}s; got {self.messages[after:]}")

    def close(self):
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)
