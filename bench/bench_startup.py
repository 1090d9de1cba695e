"""Start-up: how long `brand-monitor run` takes to tell systemd READY=1 with many sources and brands.

    python bench/bench_startup.py [--sources 500] [--brands 50] [--runs 5]

Runs the real daemon (a fresh store each run, so its migrations are included) with NOTIFY_SOCKET pointing at a
unix datagram socket, and prints the time from exec to READY=1, min / median / max over the runs, and the daemon's
resident memory at READY. The feeds point at a closed loopback port: polling starts after READY and is not timed.
Goal (issue "Stay fast as history grows"): ready in <= 0.7 s at 500 sources and 50 brands.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sources import BRANDS, status_mb


def config(tmp: Path, sources: int, brands: int) -> Path:
    lines = [f"store: {{path: {tmp / 'state.db'}}}",
             "brands: [" + ", ".join(f"{{name: {b}}}" for b in BRANDS[:brands]) + "]",
             "notifiers: {hook: {type: webhook, url: 'http://127.0.0.1:9/x'}}",
             "routes: [{name: all, notify: [hook]}]", "sources:"]
    lines += [f"  feed{n}: {{type: rss, url: 'http://127.0.0.1:9/feed/{n}'}}"
              for n in range(sources)]
    path = tmp / "brand-monitor.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def one_run(sources: int, brands: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = config(tmp, sources, brands)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(tmp / "notify"))
        sock.settimeout(30)
        env = {**os.environ, "NOTIFY_SOCKET": str(tmp / "notify")}
        start = time.perf_counter()
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(path)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while b"READY=1" not in sock.recv(4096):
                pass
            elapsed = time.perf_counter() - start
            rss = status_mb(daemon.pid, "VmRSS")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
            sock.close()
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--brands", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = [one_run(args.sources, args.brands) for _ in range(args.runs)]
    times = sorted(t for t, _ in runs)
    print(f"sources {args.sources}  brands {args.brands}  runs {args.runs}")
    print(f"exec -> READY=1   min {times[0]:.2f} s  median {statistics.median(times):.2f} s  max {times[-1]:.2f} s"
          f"  (goal <= 0.7 s)")
    print(f"resident at READY  {max(r for _, r in runs):.0f} MB")


if __name__ == "__main__":
    main()
