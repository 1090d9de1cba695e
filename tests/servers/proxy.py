"""A forward HTTP proxy on loopback that answers for the targets itself: it records every request-target it is
asked for (`http://host/path`, absolute as clients send them to a proxy) and serves the page set for it, or 404.
It reaches nothing beyond itself, so tests can name public addresses as targets."""
from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingProxy:
    def __init__(self, delay: float = 0.0):
        self.asked: list[str] = []
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.delay = delay  # seconds each answer takes, to see how many requests are in flight at once
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()  # per target host, and "*" for all
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                host = self.headers.get("Host", "")
                with lock:
                    proxy.asked.append(self.path)
                    for key in (host, "*"):
                        proxy.in_flight[key] += 1
                        proxy.peak[key] = max(proxy.peak[key], proxy.in_flight[key])
                time.sleep(proxy.delay)
                with lock:
                    for key in (host, "*"):
                        proxy.in_flight[key] -= 1
                status, headers, body = proxy.pages.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, target: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> str:
        self.pages[target] = (status, headers or {}, body)
        return target

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
