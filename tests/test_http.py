import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.http import get_capped, make_client, parse_retry_after, redact


class SlowServer:
    """Answers every GET after 0.2 s, counting how many requests are in flight at once."""

    def __init__(self):
        self.in_flight = self.peak = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with server.lock:
                    server.in_flight += 1
                    server.peak = max(server.peak, server.in_flight)
                time.sleep(0.2)
                with server.lock:
                    server.in_flight -= 1
                status = int(self.path.strip("/") or 200)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "42")
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"hello")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def server():
    s = SlowServer()
    yield s
    s.httpd.shutdown()


async def test_per_host_limit(server):
    async with make_client(per_host=2) as client:
        results = await asyncio.gather(*(get_capped(client, server.url + "/200", max_bytes=100, timeout=5)
                                         for _ in range(6)))
    assert all(body == b"hello" for _, body in results)
    assert server.peak == 2


async def test_deliveries_take_their_own_turns_at_a_host_the_polls_keep_busy(server):
    finished: list[str] = []

    async def get(client, name: str) -> None:
        await get_capped(client, server.url + "/200", max_bytes=100, timeout=5)
        finished.append(name)

    async with make_client(per_host=1) as polls:
        queued = [asyncio.create_task(get(polls, f"poll {i}")) for i in range(4)]
        await asyncio.sleep(0.05)  # the four polls hold and queue for the host's one slot
        await get(polls.for_destinations(), "delivery")
        await asyncio.gather(*queued)
    assert finished.index("delivery") <= 1  # alongside the first poll, not behind all four


@pytest.mark.parametrize("status, kind", [(429, RateLimitedError), (503, RateLimitedError), (401, AuthFailedError),
                                          (403, AuthFailedError), (404, PermanentError), (500, TransientError)])
async def test_status_mapping(server, status, kind):
    async with make_client() as client:
        with pytest.raises(kind) as info:
            await get_capped(client, f"{server.url}/{status}", max_bytes=100, timeout=5)
    if status == 429:
        assert info.value.retry_after == 42


async def test_size_cap(server):
    async with make_client() as client:
        with pytest.raises(PermanentError, match="exceeds the 3-byte cap"):
            await get_capped(client, server.url + "/200", max_bytes=3, timeout=5)


@pytest.mark.parametrize("value, seconds", [("120", 120), ("0", 0), ("-5", 0), ("soon", None), (None, None),
                                            ("Wed, 25 Nov 2026 12:01:00 GMT", 60)])
def test_parse_retry_after(value, seconds):
    from datetime import datetime, timezone
    assert parse_retry_after(value, now=datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)) == seconds


@pytest.mark.parametrize("text, secret", [
    ("https://hooks.slack.com/services/T000/B000/XXXXSECRET", "XXXXSECRET"),
    ("https://discord.com/api/webhooks/123/tok-SECRET", "tok-SECRET"),
    ("https://api.telegram.org/bot123456:AAH-SECRET/sendMessage", "AAH-SECRET"),
    ("https://x.logic.azure.com/workflows/1?api-version=1&sig=SIGSECRET", "SIGSECRET"),
    ("https://user:pa55SECRET@example.com/feed", "pa55SECRET"),
    ("Authorization: Bearer abc.SECRET", "abc.SECRET"),
    ("Unauthorized: POST bot123456:AAH-SECRET/getUpdates", "AAH-SECRET"),
    ("token 123456789:AAHsecretTOKENvalue_abcdefghijk is revoked", "AAHsecretTOKENvalue"),
    ("invalid_auth for xoxb-1234-5678-SECRETslack", "SECRETslack"),
    ("M_UNKNOWN_TOKEN: syt_YWNtZQ_SECRETmatrix_0abc12", "SECRETmatrix"),
    ("Bad credentials for ghp_SECRETgithub0123456789abcdef", "SECRETgithub"),
])
def test_redact(text, secret):
    assert secret not in redact(text)
