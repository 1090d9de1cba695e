"""Four compression bombs at once through the real fetch path, with a normal feed polled alongside.

    python bench/bench_bombs.py [--rounds 10] [--cap 5000000]

A separate process serves, on 127.0.0.1: a double-gzip bomb (2 GiB of zeros in ~5 KB), a gzip bomb (4 GiB in
~4 MB), a deflate bomb (4 GiB) and a "deflate, gzip" stack (2 GiB), plus a small gzip'd feed. This process fetches
the four bombs concurrently with `FeedSource` (the rss source) `--rounds` times while another `FeedSource` polls
the feed every 20 ms. Prints each bomb's outcome, this process's peak resident memory (VmHWM), the feed's poll
latency before and during the bombs, and the longest the event loop was held (a 5 ms ticker's worst delay).
Goal (issue 12): peak RSS <= 200 MB; no stall of the event loop, so every other source keeps its schedule.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_sources import status_mb  # noqa: E402

from tests.servers.bombs import MIB, bomb, compress  # noqa: E402

BOMBS = {"/double-gzip": ("gzip, gzip", 2048 * MIB), "/gzip": ("gzip", 4096 * MIB),
         "/deflate": ("deflate", 4096 * MIB), "/deflate-gzip": ("deflate, gzip", 2048 * MIB)}
FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Status</title>'
        + b"".join(b"<item><guid>%d</guid><title>Acme status %d</title></item>" % (i, i) for i in range(20))
        + b"</channel></rss>")


def serve(port, ready) -> None:
    bodies = {path: (encoding, bomb(encoding, size)) for path, (encoding, size) in BOMBS.items()}
    bodies["/feed.xml"] = ("gzip", compress("gzip", FEED))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            encoding, body = bodies[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:  # the client hung up at its cap
                pass

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port.value = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


async def run(base: str, rounds: int, cap: int) -> tuple[list[str], list[float], list[float], float]:
    from monitor.http import make_client
    from monitor.sources.base import SourceState
    from monitor.sources.rss import FeedSource

    async with make_client() as http:
        feed = FeedSource("feed", base + "/feed.xml", http, timeout=8, max_bytes=cap)
        await feed.fetch(SourceState("feed"))  # warm up: imports, connection pool
        print(f"RSS after warm-up {status_mb('self', 'VmRSS'):.0f} MB")
        done = asyncio.Event()

        async def poll_feed(latencies: list[float], polls: int | None = None):
            while not done.is_set() and (polls is None or len(latencies) < polls):
                start = time.perf_counter()
                result = await feed.fetch(SourceState("feed"))
                assert len(result.posts) == 20
                latencies.append(time.perf_counter() - start)
                await asyncio.sleep(0.02)

        async def tick() -> float:
            worst = 0.0
            while not done.is_set():
                start = time.perf_counter()
                await asyncio.sleep(0.005)
                worst = max(worst, time.perf_counter() - start - 0.005)
            return worst

        async def fetch_bomb(path: str) -> str:
            start = time.perf_counter()
            source = FeedSource(path, base + path, http, timeout=8, max_bytes=cap)
            try:
                await source.fetch(SourceState(path))
                outcome = "decoded?!"
            except Exception as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            return f"{time.perf_counter() - start:.2f} s  {outcome}"

        quiet: list[float] = []
        await poll_feed(quiet, polls=20)
        busy: list[float] = []
        poller, ticker = asyncio.create_task(poll_feed(busy)), asyncio.create_task(tick())
        outcomes = []
        for _ in range(rounds):
            outcomes += await asyncio.gather(*(fetch_bomb(path) for path in BOMBS))
        done.set()
        await poller
        return outcomes, quiet, busy, await ticker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cap", type=int, default=5_000_000, help="max_bytes of every source")
    args = parser.parse_args()
    from monitor.log import setup_logging
    setup_logging("warning")
    port, ready = multiprocessing.Value("i", 0), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, ready), daemon=True)
    server.start()
    ready.wait(60)
    try:
        outcomes, quiet, busy, stall = asyncio.run(run(f"http://127.0.0.1:{port.value}", args.rounds, args.cap))
    finally:
        server.terminate()
    for outcome in sorted(set(o.split("  ", 1)[1] for o in outcomes)):
        print(outcome)
    seconds = [float(o.split(" s", 1)[0]) for o in outcomes]
    print(f"{len(outcomes)} bomb fetches ({len(BOMBS)} at a time): {statistics.median(seconds):.2f} s median, "
          f"{max(seconds):.2f} s max")
    for name, latencies in (("alone", quiet), ("during the bombs", busy)):
        print(f"feed poll {name}: {len(latencies)} polls, median {statistics.median(latencies) * 1000:.1f} ms, "
              f"max {max(latencies) * 1000:.1f} ms")
    print(f"longest event-loop stall during the bombs: {stall * 1000:.1f} ms")
    peak = status_mb("self", "VmHWM")
    print(f"peak RSS {peak:.0f} MB (goal <= 200 MB: {'met' if peak <= 200 else 'MISSED'})")


if __name__ == "__main__":
    main()
