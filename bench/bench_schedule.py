"""Does the daemon keep its schedule with a long history? The real daemon, 500 feeds polled every 60 s.

    python bench/bench_schedule.py [--store PATH] [--seconds 180] [--sources 500] [--workers 1]

Feeds (30 items, 30 % naming one of 50 brands in four scripts, ETag answered with 304) and a webhook are served
on 127.0.0.1 .. 127.0.0.50 by a separate process; `brand-monitor run` polls them with a copy of --store (e.g.
the 1,000,000-post store `bench_store.py --keep` leaves in /tmp) or a fresh one. The first cycle sees 15,000 new
posts; the bench then reads the daemon's /metrics twice and prints polls per second over the steady part against
the 8.33/s the schedule asks for, the posts and deliveries, and the "missed" warnings from the scheduler; then
the memory of the daemon and its workers (`polling.workers`): each one's peak resident memory, and their
proportional shares (PSS: a page several processes share counted once) at the end, which add up.
"""
from __future__ import annotations

import argparse
import multiprocessing
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sources import BRANDS, pss_mb, status_mb  # noqa: E402

PORT = 18766
METRICS = 19466
TEXTS = ["{b} is down again, cannot log in", "{b} charged me twice this month", "Loving the new {b} app update",
         "Just an ordinary post about the weather", "Another ordinary post, nothing to see",
         "Ordinary news of the day", "A recipe for pancakes", "Traffic on the ring road", "Cat pictures",
         "Football results from the weekend"]


def feed(n: int) -> bytes:
    items = "".join(
        f"<item><guid>f{n}-{i}</guid><link>https://site{n}.example/p/{i}</link><title>Post {i}</title>"
        f"<description>{TEXTS[(n + i) % 10].format(b=BRANDS[(n + i) % 50])}</description></item>" for i in range(30))
    return f"<rss version='2.0'><channel><title>Feed {n}</title>{items}</channel></rss>".encode()


def serve(ready) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            n = int(self.path.rsplit("/", 1)[1])
            if self.headers.get("If-None-Match") == f'"{n}"':
                self.send_response(304)
                self.send_header("ETag", f'"{n}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = feed(n)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", f'"{n}"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    servers = [ThreadingHTTPServer((f"127.0.0.{h}", PORT), Handler) for h in range(1, 51)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    ready.set()
    while True:
        time.sleep(3600)


def polls(text: str) -> tuple[float, float, float]:
    """(polls, new posts, deliveries sent) so far, from the exposition text."""
    def total(name: str) -> float:
        return sum(float(v) for v in re.findall(rf"^{name}{{[^}}]*}} ([0-9.e+]+)$", text, re.M))
    sent = sum(float(v) for v in re.findall(r'^brand_monitor_deliveries_total{[^}]*outcome="sent"[^}]*} ([0-9.e+]+)$',
                                             text, re.M))
    return total("brand_monitor_polls_total"), total("brand_monitor_posts_total"), sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="a store to copy (default: a fresh one)")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="polling.workers")
    args = parser.parse_args()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(ready,), daemon=True)
    server.start()
    ready.wait(10)
    folder = Path(tempfile.mkdtemp(prefix="bench-schedule-"))
    if args.store:
        shutil.copy(args.store, folder / "state.db")
    lines = [f"store: {{path: {folder / 'state.db'}}}",
             "brands: [" + ", ".join(f"{{name: {b}}}" for b in BRANDS) + "]",
             f"notifiers: {{hook: {{type: webhook, url: 'http://127.0.0.1:{PORT}/hook'}}}}",
             "routes: [{name: all, notify: [hook]}]", "incidents: {enabled: false}",
             f"polling: {{workers: {args.workers}}}",
             f"metrics: {{enabled: true, listen: '127.0.0.1:{METRICS}'}}", "log: {level: warning, format: json}",
             "sources:"]
    lines += [f"  feed{n}: {{type: rss, url: 'http://127.0.0.{n % 50 + 1}:{PORT}/feed/{n}', every: 60s}}"
              for n in range(args.sources)]
    (folder / "config.yaml").write_text("\n".join(lines) + "\n")
    log = (folder / "daemon.log").open("w")
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(folder / "config.yaml")],
                              stderr=log, stdout=log)
    try:
        time.sleep(60)  # the first cycle: 15,000 new posts
        start, first = time.monotonic(), polls(httpx.get(f"http://127.0.0.1:{METRICS}/metrics").text)
        time.sleep(max(0.0, args.seconds - 60))
        elapsed, last = time.monotonic() - start, polls(httpx.get(f"http://127.0.0.1:{METRICS}/metrics").text)
        processes = [daemon.pid, *children(daemon.pid)]
        peaks, shares = [status_mb(pid, "VmHWM") for pid in processes], [pss_mb(pid) for pid in processes]
    finally:
        daemon.terminate()
        daemon.wait(30)
        server.terminate()
        log.close()
    missed = (folder / "daemon.log").read_text().count("was missed by")
    print(f"sources {args.sources} every 60 s, store {args.store or 'fresh'}")
    print(f"first minute: {first[0]:.0f} polls, {first[1]:.0f} new posts, {first[2]:.0f} alerts delivered")
    print(f"then {elapsed:.0f} s: {(last[0] - first[0]) / elapsed:.2f} polls/s of {args.sources / 60:.2f} asked; "
          f"{last[2] - first[2]:.0f} more alerts delivered; scheduler 'missed' warnings: {missed}")
    print(f"memory, daemon{' + each worker' if len(processes) > 1 else ''}: peak RSS "
          + " + ".join(f"{m:.0f}" for m in peaks) + " MB; PSS at the end " + " + ".join(f"{m:.0f}" for m in shares)
          + (f" = {sum(shares):.0f}" if len(shares) > 1 else "") + " MB")
    shutil.rmtree(folder, ignore_errors=True)


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


if __name__ == "__main__":
    main()
