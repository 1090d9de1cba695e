"""Per-poll, per-send and per-tick store queries on a fresh store and on one with a long history.

    python bench/bench_store.py [--posts 1000000] [--keep]

Builds (once; reused from /tmp with --keep) a store of --posts posts seen over two days, 30 % of them mentions
with an alert of realistic size, their outbox rows sent, half of the alerts acknowledged, 50 brands and 200,000
authors; then times each query the daemon runs per poll, per send and per escalation tick, as the daemon runs
them, the median of many runs. Goal (issue "Stay fast as history grows"): each query <= 5 ms and the escalation
tick <= 50 ms at 1,000,000 posts.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.log import setup_logging  # noqa: E402
from monitor.models import Author, Send  # noqa: E402
from monitor.routing.escalation import escalate_due  # noqa: E402
from monitor.settings import RetentionConfig, RouteConfig  # noqa: E402
from monitor.sources.base import SourceState  # noqa: E402
from monitor.store import SqliteStore  # noqa: E402
from tests.factories import make_alert, make_post  # noqa: E402

BRANDS = [f"Brand{i}" for i in range(50)]
AUTHORS = 200_000
DAY = 86400.0


def build(path: Path, posts: int, now: float) -> None:
    """Rows written straight into a migrated store in big transactions (the daemon's own path is too slow to
    build two days of history in a bench); the payload is a real alert's, so rows have their real size."""
    store = SqliteStore(path)
    store.migrate()
    payload = json.dumps(make_alert(make_post(1, text="Brand7 app is down again " + "lorem ipsum " * 60)).to_dict())
    rng = random.Random(7)
    conn = store._conn
    chunk = 50_000
    for start in range(0, posts, chunk):
        post_rows, mention_rows, alert_rows, outbox_rows = [], [], [], []
        for n in range(start, min(start + chunk, posts)):
            at = now - 2 * DAY + 2 * DAY * n / posts
            author = f"user{rng.randrange(AUTHORS)}"
            post_rows.append((f"k{n}", f"feed{n % 500}", "rss", str(n), f"https://site.example/{n}", author, at))
            if n % 10 < 3:
                brand = BRANDS[n % 50]
                acked = at + 600 if n % 2 else None
                mention_rows.append((n, f"k{n}", brand, 0, "[]", at))
                alert_rows.append((f"a{n:019d}", n, brand, "high", rng.choice(["negative", "neutral", "positive"]),
                                   rng.choice(["complaint", "outage", "other"]), "en", author, at + 3600, at, acked,
                                   payload, "outage", 0))
                outbox_rows.append((f"i{n}", f"a{n:019d}", "team", "sent", 1, at, at, at + 1))
        with conn:
            conn.executemany("INSERT INTO post (dedup_key, source_id, platform, post_id, url, author, first_seen_at)"
                             " VALUES (?,?,?,?,?,?,?)", post_rows)
            conn.executemany("INSERT INTO mention (id, dedup_key, brand, competitor, matches, created_at)"
                             " VALUES (?,?,?,?,?,?)", mention_rows)
            conn.executemany("INSERT INTO alert (id, mention_id, brand, severity, sentiment, category, language,"
                             " author, respond_by, created_at, acked_at, payload, issue, urgent)"
                             " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", alert_rows)
            conn.executemany("INSERT INTO outbox (idempotency_key, alert_id, notifier_id, status, attempts,"
                             " next_attempt_at, created_at, sent_at) VALUES (?,?,?,?,?,?,?,?)", outbox_rows)
        print(f"  built {min(start + chunk, posts):,} posts", file=sys.stderr)
    conn.execute("ANALYZE")
    store.close()


def timed(fn, runs: int = 50) -> float:
    """Median milliseconds of `fn()`."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(store: SqliteStore, now: float) -> dict[str, float]:
    rng = random.Random(11)
    handles = [f"user{rng.randrange(AUTHORS)}" for _ in range(30)]
    fresh = [replace(make_post(10_000_000 + i), author=Author(handle=h)) for i, h in enumerate(handles)]
    counter = iter(range(20_000_000, 30_000_000))

    def poll() -> None:  # what one poll of a 30-item feed with 9 mentions writes
        posts = [make_post(next(counter)) for _ in range(30)]
        store.ingest(SourceState("feed0"), posts, [(make_alert(p), {"team": Send()}) for p in posts[:9]], now)

    def send() -> None:
        row = store.claim("team", now, 60)
        if row is not None:
            store.mark_sent(row, now, 200, None)

    routes = [RouteConfig(name="urgent", notify=["team"], escalate={"after": "30m", "notify": ["team"]})]
    figures = {
        "unseen (30 posts)": timed(lambda: store.unseen(fresh)),
        "author_history (30 authors)": timed(lambda: store.author_history(handles)),
        "recent_negative (1 h)": timed(lambda: store.recent_negative(now - 3600)),
        "ingest (30 posts, 9 alerts)": timed(poll, 20),
        "claim + mark_sent": timed(send, 100),
        "escalation tick": timed(lambda: asyncio.run(escalate_due(store, routes, now)), 10),
        "status: outbox counts": timed(lambda: store.outbox_counts(sent_since=now - DAY), 10),
        "status/metrics: open alerts": timed(lambda: store.open_alerts(now), 10),
        "retention: one batch of each step": timed(lambda: store.prune(now, RetentionConfig(), 500), 5),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the built store in /tmp and reuse it next time")
    args = parser.parse_args()
    setup_logging("error")  # escalations log a warning each
    now = time.time()
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    big = Path(tempfile.gettempdir()) / f"bench-store-{args.posts}.db"
    if not (args.keep and big.exists()):
        big.unlink(missing_ok=True)
        build(big, args.posts, now)
    empty = SqliteStore(folder / "fresh.db")
    empty.migrate()
    results = {"fresh store": measure(empty, now)}
    copy = folder / "big.db"
    copy.write_bytes(big.read_bytes())  # the timed writes must not change the kept store
    history = SqliteStore(copy)
    history.migrate()
    results[f"{args.posts:,} posts"] = measure(history, now)
    size = copy.stat().st_size / 1e6
    print(f"\n{'query (median ms)':38} " + "  ".join(f"{name:>16}" for name in results))
    for query in results["fresh store"]:
        print(f"{query:38} " + "  ".join(f"{r[query]:16.2f}" for r in results.values()))
    print(f"\nstore with {args.posts:,} posts: {size:.0f} MB")
    if not args.keep:
        big.unlink()


if __name__ == "__main__":
    main()
