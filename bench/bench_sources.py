"""500 `rss` sources served on loopback, one full poll cycle through the real poller, pipeline and store, side
by side with plain feedparser over the same feeds.

    python bench/bench_sources.py [--sources 500] [--items 20] [--hosts 50] [--brands 50] [--workers 1] [--repeat 3]

Feeds are served by a separate process on 127.0.0.1 .. 127.0.0.<hosts> (all loopback), so the poller
sees many hosts as it would in production. Prints the best of --repeat runs of each, taken in turns: the baseline
(fetch + feedparser only, same concurrency), the full cycle (fetch, parse, dedup, match --brands brands, triage,
store), their feeds/s and ratio, the time to build the daemon's components (matcher and model included), the
peak RSS of this process and of each worker, their memory at the end of the cycle as PSS (a forked worker shares
the daemon's pages; PSS counts each page once, split between the processes that share it), and the CPU time
the daemon, its workers and the feed server took in the best cycle (on few cores, a cycle that uses all they give
can only get faster by using less).
Goals: under 30 s per cycle on 2 cores; issue "Stay fast as history grows": resident <= 120 MB at 500 feeds and
50 brands, the full cycle >= 0.8x the baseline's feeds/s.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def feed_body(n: int, items: int) -> bytes:
    now = format_datetime(datetime.now(timezone.utc))
    complaint, ordinary = "Acme is down again, still waiting", "An ordinary post about the weather and other things"
    entries = "".join(
        f"<item><guid>https://site{n}.example/p/{i}</guid><link>https://site{n}.example/p/{i}</link>"
        f"<title>Post {i} of feed {n}</title><description>{complaint if i % 5 == 0 else ordinary} "
        f"{'lorem ipsum ' * 30}</description><pubDate>{now}</pubDate></item>" for i in range(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>https://site{n}.example/</link><description>d</description>{entries}</channel></rss>").encode()


def serve(hosts: int, port: int, items: int, ready) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = feed_body(int(self.path.rsplit("/", 1)[1]), items)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    for h in range(1, hosts + 1):
        httpd = ThreadingHTTPServer((f"127.0.0.{h}", port), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


BRANDS = ["Acme", "Revolut", "Monzo", "Snapp", "Digikala", "Irancell", "Shatel", "Landsbankinn", "Síminn",
          "Icelandair", "Сбербанк", "Тинькофф", "Озон", "Вайлдберриз"] + [f"Brandname{i}" for i in range(36)]


def nap_pid() -> int:
    time.sleep(0.2)  # long enough that each waiting worker takes one
    return os.getpid()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mb(pid: int | str, field: str) -> float:
    """A memory figure of a process (Linux /proc/<pid>/status): VmRSS resident now, VmHWM its peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pss_mb(pid: int) -> float:
    """A process's proportional share of resident memory now (Linux /proc): pages it shares with other processes
    (forked workers share the daemon's) are split between them, so the shares of all processes add up."""
    line = next(x for x in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines() if x.startswith("Pss:"))
    return int(line.split()[1]) / 1024


def urls(sources: int, hosts: int, port: int) -> list[str]:
    return [f"http://127.0.0.{n % hosts + 1}:{port}/feed/{n}" for n in range(sources)]


async def baseline(sources: int, hosts: int, port: int) -> float:
    """Fetch every feed with the same concurrency and parse it with feedparser: nothing else."""
    import feedparser
    import httpx

    slots = asyncio.Semaphore(20)
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(url: str) -> None:
            async with slots:
                body = (await client.get(url)).content
            feedparser.parse(body)

        start = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls(sources, hosts, port)))
        return time.perf_counter() - start


async def cycle(sources: int, hosts: int, port: int, brands: int, workers: int,
                server_pid: int) -> tuple[float, int, int, float, list[float], list[float], list[float], str]:
    from monitor.app import build_components
    from monitor.http import make_client
    from monitor.polling import Poller
    from monitor.settings import parse_settings
    from monitor.store import SqliteStore
    from monitor.workers import PipelineWorkers

    lines = ["brands: [" + ", ".join(f"{{name: {b}}}" for b in BRANDS[:brands]) + "]",
             "notifiers: {hook: {type: webhook, url: 'http://127.0.0.1:9/x'}}",
             "routes: [{name: all, notify: [hook]}]", "sources:"]
    lines += [f"  feed{n}: {{type: rss, url: '{url}'}}" for n, url in enumerate(urls(sources, hosts, port))]
    settings = parse_settings("\n".join(lines))
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "state.db")
        store.migrate()
        async with make_client(per_host=settings.polling.per_host) as http:
            built = time.perf_counter()
            components = build_components(settings, http)
            build_s = time.perf_counter() - built
            poller = Poller(store, components.pipeline, settings.polling)
            while threading.active_count() > 1:  # the last cycle's pool winding down: a daemon forks its workers
                await asyncio.sleep(0.05)         # before it starts any other thread
            pool = PipelineWorkers(settings, workers, components.pipeline) if workers > 1 else None
            pids: set[int] = set()
            if pool is not None:  # every worker started and its pipeline built before timing, as in a running daemon
                while len(pids) < workers:
                    pids.update(await asyncio.gather(*(pool.run(nap_pid) for _ in range(workers))))
            slots = asyncio.Semaphore(settings.polling.concurrency)

            async def one(sid, source, cfg):
                async with slots:
                    return await poller.poll(sid, source, cfg)

            processes = [os.getpid(), *sorted(pids), server_pid]
            cpu_before = [cpu_seconds(pid) for pid in processes]
            start = time.perf_counter()
            reports = await asyncio.gather(*(one(sid, src, cfg) for sid, (src, cfg) in components.sources.items()))
            elapsed = time.perf_counter() - start
            cpu = [cpu_seconds(pid) - before for pid, before in zip(processes, cpu_before)]
            worker_rss = [status_mb(pid, "VmHWM") for pid in sorted(pids)]
            pss = [pss_mb(pid) for pid in [os.getpid(), *sorted(pids)]]
            start_method = pool.start_method if pool is not None else "threads"
            if pool is not None:
                pool.close()
        store.close()
    failed = [r for r in reports if not r.ok]
    if failed:
        print(f"{len(failed)} polls failed, e.g. {failed[0].error}")
    return (elapsed, sum(r.posts for r in reports), sum(r.queued for r in reports), build_s, cpu, worker_rss, pss,
            start_method)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--brands", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1,
                        help="polling.workers: processes for parsing, matching and triage")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, in turns; the best of each is printed")
    args = parser.parse_args()
    from monitor.log import setup_logging
    setup_logging("warning")
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.hosts, args.port, args.items, ready), daemon=True)
    server.start()
    ready.wait(10)
    plains, cycles = [], []
    try:
        for _ in range(args.repeat):  # taking turns, so that a busy moment of the machine does not favour one
            plains.append(asyncio.run(baseline(args.sources, args.hosts, args.port)))
            cycles.append(asyncio.run(cycle(args.sources, args.hosts, args.port, args.brands, args.workers,
                                            server.pid)))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        server.terminate()
    plain = min(plains)
    elapsed, posts, queued, build_s, cpu, _, pss, start_method = min(cycles)
    worker_rss = [max(rss) for rss in zip(*(c[5] for c in cycles))]
    print(f"sources {args.sources}  hosts {args.hosts}  brands {args.brands}  workers {args.workers}  posts {posts}"
          f"  alerts queued {queued}  (best of {args.repeat} runs each)")
    print(f"fetch + feedparser only      {plain:6.2f} s  {args.sources / plain:6.1f} feeds/s")
    print(f"full cycle                   {elapsed:6.2f} s  {args.sources / elapsed:6.1f} feeds/s  "
          f"({posts / elapsed:.0f} posts/s; {plain / elapsed:.2f}x the baseline)")
    daemon, *workers, feeds = cpu
    in_workers = f"workers {' + '.join(f'{w:.2f}' for w in workers)} s, " if workers else ""
    print(f"CPU in the best full cycle: daemon {daemon:.2f} s, {in_workers}feed server {feeds:.2f} s; "
          f"{os.cpu_count()} cores give {elapsed * (os.cpu_count() or 1):.2f} s in that time")
    in_workers = (f", each worker {' + '.join(f'{w:.0f}' for w in worker_rss)} MB "
                  f"(together {peak_mb + sum(worker_rss):.0f} MB)") if worker_rss else ""
    print(f"components built in {build_s:.2f} s;  peak RSS of this process {peak_mb:.0f} MB{in_workers}")
    print(f"workers started by {start_method}; memory at the end of the best cycle (PSS, shared pages split): "
          + " + ".join(f"{m:.0f}" for m in pss) + f" MB = {sum(pss):.0f} MB")


if __name__ == "__main__":
    main()
