"""Conformance: every recorded and hand-written feed in ../shared/fixtures, served over loopback through the rss
source, ends as a FetchResult or one of monitor.errors' kinds: no crash, no hang.

The fixtures are not part of the repository (their licences differ); without them this module is skipped.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.errors import ExternalError
from monitor.http import make_client
from monitor.sources.base import FetchResult, SourceState
from monitor.sources.rss import FeedSource

FIXTURES = Path(__file__).parents[2].parent / "shared" / "fixtures"
FEED_DIRS = ("feedparser_corpus", "rss_generic", "google_news", "youtube", "multilingual", "reddit/rss")
NOT_FEEDS = {"MANIFEST.tsv", "README.md"}
CONCURRENCY = 16
PER_FEED_LIMIT = 10.0  # seconds; far above what any fixture needs, so only a hang trips it
_HEADER = re.compile(r"^\s*Header:\s*([A-Za-z0-9-]+):[ \t]*(.*?)\s*$", re.M)
_DEFAULT_TYPES = {".json": "application/json", ".html": "text/html; charset=utf-8"}

pytestmark = pytest.mark.skipif(not (FIXTURES / "feedparser_corpus").is_dir(),
                                reason=f"shared fixtures not found at {FIXTURES}")


def corpus_files() -> list[Path]:
    return sorted(p for d in FEED_DIRS if (FIXTURES / d).is_dir() for p in (FIXTURES / d).rglob("*")
                  if p.is_file() and p.name not in NOT_FEEDS and not p.name.endswith(".meta.json"))


def recorded_headers(body: bytes) -> dict[str, str]:
    """The `Header: Name: value` lines of the leading comment, which feedparser's own harness sends."""
    comment = body[:4000].split(b"-->", 1)[0].decode("utf-8", "replace")
    headers = {name: value for name, value in _HEADER.findall(comment)}
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/xml"
    return headers


def serve_file(request: Request) -> Response:
    path = FIXTURES / request.path.lstrip("/")
    body = path.read_bytes()
    headers = recorded_headers(body)
    if path.suffix in _DEFAULT_TYPES and "Content-Type" in headers:
        headers["Content-Type"] = _DEFAULT_TYPES[path.suffix]
    return Response(body, status=200, headers=headers)


@pytest.fixture(scope="module")
def server():
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # 2,200 access-log lines
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.expect_request(re.compile("/.*")).respond_with_handler(serve_file)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()
    access_log.setLevel(level)


async def poll(source: FeedSource, semaphore: asyncio.Semaphore) -> FetchResult | ExternalError | BaseException:
    async with semaphore:
        try:
            return await asyncio.wait_for(source.fetch(SourceState(source.source_id)), PER_FEED_LIMIT)
        except ExternalError as exc:
            return exc
        except BaseException as exc:  # noqa: BLE001 — collected and reported below, with the file name
            return exc


async def test_every_fixture_feed_ends_in_a_result_or_a_known_error(server):
    files = corpus_files()
    assert len(files) > 2000, f"expected the ~2,200-file corpus under {FIXTURES}"
    semaphore = asyncio.Semaphore(CONCURRENCY)
    started = time.monotonic()
    async with make_client() as client:
        sources = [FeedSource(str(p.relative_to(FIXTURES)), server.url_for("/" + str(p.relative_to(FIXTURES))),
                              client, timeout=5.0, max_bytes=5_000_000) for p in files]
        outcomes = await asyncio.gather(*(poll(s, semaphore) for s in sources))
    elapsed = time.monotonic() - started

    crashes = {s.source_id: f"{type(o).__name__}: {o}" for s, o in zip(sources, outcomes)
               if not isinstance(o, (FetchResult, ExternalError))}
    assert not crashes, crashes
    summary = Counter(_kind(o) for o in outcomes)
    print(f"\nfeed corpus: {len(files)} files in {elapsed:.1f}s: {dict(sorted(summary.items()))}")
    assert elapsed < 50

    by_file = {s.source_id: o for s, o in zip(sources, outcomes)}
    for name, outcome in by_file.items():
        if name.startswith("feedparser_corpus/"):
            continue  # unit-test snippets: most test feed-level fields and have no entries at all
        if _NOT_A_FEED.search(name):
            assert isinstance(outcome, ExternalError), (name, outcome)
        elif not name.endswith("rss_2.0_invalid_1.xml"):  # truncated before its first item ends
            assert isinstance(outcome, FetchResult) and outcome.posts, (name, outcome)
    corpus_errors = [n for n, o in by_file.items()
                     if n.startswith("feedparser_corpus/") and not isinstance(o, FetchResult)]
    assert len(corpus_errors) < 0.02 * len(files), corpus_errors


# single-entry fragments, a bare XML sample and a recorded 404 page: correctly refused
_NOT_A_FEED = re.compile(r"FirstEntry|xml__xml_sample_|notavailable_404")


def _kind(outcome: object) -> str:
    if isinstance(outcome, FetchResult):
        return "posts" if outcome.posts else "empty"
    return type(outcome).__name__
