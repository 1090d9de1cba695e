"""Several daemons on one PostgreSQL: throughput, connections, duplicates and takeover after kill -9.

    python bench/bench_scale.py [--feeds 1000] [--posts 2] [--daemons 1 2 4]

For each daemon count: a throwaway PostgreSQL cluster database (tests/servers/postgres.py), --feeds loopback RSS
feeds polled every 5 s, --posts new posts per feed published once every daemon is polling, and an idempotent
loopback webhook. Reports polls/s and alerts/s until every alert arrived, the daemons' database connections,
duplicates (alert ids delivered under two keys, or keys delivered twice: must be 0), and with 2+ daemons the
time from kill -9 of one until the others hold all its sources.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from monitor.store.postgres import PostgresStore  # noqa: E402
from tests.e2e.servers import FeedServer, IdempotentHook  # noqa: E402
from tests.e2e.test_failover import start  # noqa: E402
from tests.servers import postgres  # noqa: E402

TIMEOUT = 600.0


def config(path: Path, url: str, feeds: list[FeedServer], hook: IdempotentHook) -> Path:
    sources = "".join(f'  f{n}: {{type: rss, url: "{f.url}", every: 5s, jitter: 1s, allow_fast_polling: true}}\n'
                      for n, f in enumerate(feeds))
    path.write_text(f'store: {{url: "{url}", lease: 10s}}\nbrands: [{{name: Acme}}]\nsources:\n{sources}'
                    f'notifiers:\n  hook: {{type: webhook, url: "{hook.url}", timeout: 5s}}\n'
                    "routes: [{name: all, notify: [hook]}]\nlog: {level: warning, format: json}\n"
                    "incidents: {enabled: false}\npolling: {concurrency: 50}\n")
    return path


def held(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT holder, COUNT(*) FROM lease WHERE name LIKE 'source:%%' AND until > %s"
                        " GROUP BY holder", (time.time(),)).fetchall()
    return dict(rows)


def run(daemons: int, feeds_count: int, posts: int, server: postgres.Postgres, folder: Path) -> dict:
    feeds = [FeedServer(site=f"site{n}.example") for n in range(feeds_count)]
    hook = IdempotentHook()
    url = server.new_database()
    schema = PostgresStore(url)
    schema.migrate()
    schema.close()
    cfg = config(folder / f"config{daemons}.yaml", url, feeds, hook)
    procs = [start(cfg, folder / f"d{daemons}-{n}.log") for n in range(daemons)]
    result: dict = {"daemons": daemons}
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + TIMEOUT
            while sum(held(conn).values()) < feeds_count and time.monotonic() < deadline:
                time.sleep(0.5)
            requests, began = sum(f.requests for f in feeds), time.monotonic()
            for n, feed in enumerate(feeds):
                for i in range(posts):
                    feed.add(f"Acme outage {n}-{i}", f"Acme is down for me, report {n}-{i}")
            hook.wait_for(feeds_count * posts, TIMEOUT)
            took = time.monotonic() - began
            ids = list(hook.delivered.values())
            result.update(alerts=len(set(ids)), alerts_per_s=round(len(ids) / took, 1),
                          polls_per_s=round((sum(f.requests for f in feeds) - requests) / took, 1),
                          duplicates=len(ids) - len(set(ids)) + hook.repeats,
                          connections=conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE"
                                                   " application_name='brand-monitor'").fetchone()[0])
            if daemons > 1:
                holders = held(conn)
                victim = max(procs, key=lambda p: sum(v for k, v in holders.items() if f":{p.pid}:" in k))
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed = time.monotonic()
                while any(f":{victim.pid}:" in k for k in held(conn)) or sum(held(conn).values()) < feeds_count:
                    time.sleep(0.2)
                result["takeover_s"] = round(time.monotonic() - killed, 1)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        hook.close()
        for feed in feeds:
            feed.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=2, help="new posts per feed")
    parser.add_argument("--daemons", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    server = postgres.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in args.daemons:
                print(json.dumps(run(n, args.feeds, args.posts, server, Path(tmp))), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
