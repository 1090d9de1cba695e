"""Post-to-alert latency of a stream: a Jetstream-compatible server on 127.0.0.1 sends posts to the real daemon
(`brand-monitor run`, a bluesky_jetstream source), whose alerts go to a webhook on 127.0.0.1.

    python bench/bench_streams.py [--posts 200] [--noise 20] [--interval 0.05]

Each of --posts posts names the brand and comes after --noise posts that do not (the firehose is mostly other
people's posts, filtered on our side); one is published every --interval seconds. Latency is from the moment the
server sends a post to the moment its alert reaches the webhook. Goal: 2 s or less.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.e2e.servers import HookReceiver  # noqa: E402
from tests.servers.streams import JetstreamServer, jetstream_post  # noqa: E402

T0 = 1_764_928_800_000_000
CONFIG = """\
store: {{path: {store}}}
brands: [{{name: Acme, keywords: [Acme]}}]
sources:
  live: {{type: bluesky_jetstream, url: "{url}", profiles_url: "{profiles}"}}
notifiers: {{hook: {{type: webhook, url: "{hook}", timeout: 5s}}}}
routes: [{{name: all, notify: [hook]}}]
incidents: {{enabled: false}}   # every post is its own alert here
log: {{level: warning, format: json}}
"""


async def run(posts: int, noise: int, interval: float) -> list[float]:
    jetstream, hook = await JetstreamServer().start(), HookReceiver()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(CONFIG.format(store=Path(tmp) / "state.db", url=jetstream.url, profiles=jetstream.base,
                                        hook=hook.url))
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)],
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            while not jetstream.connections:
                await asyncio.sleep(0.05)
            sent: dict[str, float] = {}
            for i in range(posts):
                for j in range(noise):
                    jetstream.publish(jetstream_post(T0 + i * 1000 + j, f"an ordinary post number {i}-{j}"))
                text = f"Acme is down again, order {i} stuck"
                sent[text] = time.monotonic()
                jetstream.publish(jetstream_post(T0 + i * 1000 + noise, text, did=f"did:plc:user{i % 20}"))
                await asyncio.sleep(interval)
            deadline = time.monotonic() + 60
            while len(hook.received) < posts and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            daemon.terminate()
            daemon.wait(30)
            await jetstream.close()
            hook.close()
    arrived = {body["data"]["post"]["text"]: at for at, _, body in hook.received}
    missing = len(sent) - len(arrived)
    if missing:
        print(f"MISSING: {missing} of {posts} alerts did not arrive within 60 s")
    return [arrived[text] - at for text, at in sent.items() if text in arrived]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--noise", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    latencies = sorted(asyncio.run(run(args.posts, args.noise, args.interval)))
    p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)]
    print(f"post-to-alert over {len(latencies)} posts ({args.noise} non-matching before each, one every "
          f"{args.interval:g} s): median {statistics.median(latencies):.3f} s, p95 {p95:.3f} s, "
          f"max {latencies[-1]:.3f} s (goal <= 2 s)")


if __name__ == "__main__":
    main()
