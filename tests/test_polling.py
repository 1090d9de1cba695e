import random

import pytest
from structlog.testing import capture_logs

from monitor.app import build_pipeline
from monitor.errors import AuthFailedError, RateLimitedError, TransientError
from monitor.polling import Poller, after_failure
from monitor.settings import PollingConfig, SourceConfig, parse_settings
from monitor.sources.base import FetchResult, SourceState
from tests.factories import make_post

POLLING = PollingConfig(backoff_max="1h", park_after=3, parked_retry="6h")


class ScriptedSource:
    """A Source whose fetches return or raise the given outcomes in order."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.states: list[SourceState] = []

    async def fetch(self, state):
        self.states.append(state)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def make_poller(store, clock=lambda: 1000.0):
    settings = parse_settings("""
brands: [{name: Acme}]
notifiers: {team: {type: webhook, url: "http://127.0.0.1:9/hook"}}
routes: [{name: all, notify: [team]}]
""")
    queued = []
    return Poller(store, build_pipeline(settings), POLLING, on_queued=lambda: queued.append(1), clock=clock), queued


CONFIG = SourceConfig(type="test", every="60s", timeout="5s")


@pytest.mark.parametrize("errors, exc, low, high, parked", [
    (0, TransientError("x"), 60, 120, False),                    # first failure: between every and 2x every
    (1, TransientError("x"), 60, 240, False),
    (0, RateLimitedError("x", retry_after=900), 900, 900, False),  # Retry-After wins over a shorter backoff
    (2, TransientError("x"), 21600, 21600, True),                # third failure in a row parks
    (0, AuthFailedError("x"), 21600, 21600, True),               # a wrong credential parks at once
])
def test_after_failure(errors, exc, low, high, parked):
    for seed in range(20):
        state = after_failure(SourceState("s", error_count=errors), exc, 0.0, 60.0, POLLING, random.Random(seed))
        assert low <= state.next_poll_at <= high
        assert state.parked is parked and state.error_count == errors + 1


def test_backoff_is_capped():
    state = after_failure(SourceState("s", error_count=1), TransientError("x"), 0.0, 60.0,
                          PollingConfig(backoff_max="2m", park_after=50), random.Random(1))
    assert state.next_poll_at <= 120


async def test_poll_stores_new_posts_once_and_queues_alerts(store):
    poller, queued = make_poller(store)
    posts = [make_post(1, text="Acme is down"), make_post(2, text="nothing to see")]
    source = ScriptedSource(FetchResult(posts=posts, cursor="c1", etag='"e1"'),
                            FetchResult(posts=posts + [make_post(3, text="acme again")], cursor="c2"))
    first = await poller.poll("feed", source, CONFIG)
    assert (first.ok, first.new_posts, first.alerts, first.queued) == (True, 2, 1, 1)
    second = await poller.poll("feed", source, CONFIG)
    assert (second.new_posts, second.alerts) == (1, 1)
    assert source.states[1].cursor == "c1" and source.states[1].etag == '"e1"'
    assert store.load_source_state("feed").cursor == "c2"
    assert store.outbox_counts() == {"team": {"pending": 2}} and len(queued) == 2


async def test_failures_log_on_state_change_only(store):
    poller, _ = make_poller(store)
    source = ScriptedSource(TransientError("feed: HTTP 502"), TransientError("feed: HTTP 502"), FetchResult())
    with capture_logs() as logs:
        for _ in range(3):
            await poller.poll("feed", source, CONFIG)
    events = [e["event"] for e in logs if e["event"] != "poll_completed" and e["log_level"] != "debug"]
    assert events == ["source_failed", "source_recovered"]
    state = store.load_source_state("feed")
    assert state.error_count == 0 and state.last_error is None


async def test_a_crashing_source_is_contained_and_parked(store):
    poller, _ = make_poller(store)
    source = ScriptedSource(ValueError("bug"), ValueError("bug"), ValueError("bug"))
    with capture_logs() as logs:
        reports = [await poller.poll("feed", source, CONFIG) for _ in range(3)]
    assert not any(r.ok for r in reports)
    assert reports[0].error == "internal error: ValueError: bug"
    assert [e["event"] for e in logs if e["log_level"] != "debug"] == ["source_failed", "source_parked"]
    assert [e["event"] for e in logs].count("poll_failed") == 3  # every failure still reaches the metrics
    assert store.load_source_state("feed").parked


async def test_poll_timeout_is_a_failure(store):
    import asyncio

    class Hanging:
        async def fetch(self, state):
            await asyncio.sleep(3600)

    poller, _ = make_poller(store)
    poller.grace = 0.0
    report = await poller.poll("feed", Hanging(), SourceConfig(type="test", every="60s", timeout="10ms"))
    assert not report.ok and "longer than" in report.error


async def test_a_mention_the_classifier_chokes_on_is_still_alerted(store):
    class Broken:
        def assess(self, mention, **context):
            raise RuntimeError("model file missing")

    poller, _ = make_poller(store)
    poller.pipeline._classifier = Broken()
    report = await poller.poll("feed", ScriptedSource(FetchResult(posts=[make_post(1)])), CONFIG)
    assert report.queued == 1
    alert = store.claim("team", 2000.0, 60).alert()
    assert alert.assessment.severity == "high"
    assert "triage failed (RuntimeError)" in alert.assessment.reasons[0]


async def test_author_history_counts_earlier_alerts_on_any_source(store):
    from dataclasses import replace as dc_replace

    from monitor.notifiers.format import plain_text, view
    poller, _ = make_poller(store)
    first = make_post(1, source_id="forum", text="Acme is down")
    again = dc_replace(make_post(2, source_id="hn", text="Acme still broken, I hate this"), author=first.author)
    await poller.poll("forum", ScriptedSource(FetchResult(posts=[first])), CONFIG)
    await poller.poll("hn", ScriptedSource(FetchResult(posts=[again])), CONFIG)
    alerts = [store.claim("team", 5000.0, 60).alert() for _ in range(2)]
    assert alerts[0].author_history.mentions == 0
    assert alerts[1].author_history.mentions == 1
    assert alerts[1].author_history.complaints == (alerts[0].assessment.category in ("complaint", "outage"))
    assert "History: 1 earlier mention(s)" in plain_text(view(alerts[1]))


async def test_a_burst_of_similar_complaints_becomes_one_incident(store):
    poller, _ = make_poller(store)
    posts = [make_post(i, text=f"Acme is down, cannot log in ({i})") for i in range(1, 7)]
    await poller.poll("feed", ScriptedSource(FetchResult(posts=posts[:2])), CONFIG)
    await poller.poll("feed", ScriptedSource(FetchResult(posts=posts[2:])), CONFIG)
    sent = []
    while row := store.claim("team", 9999.0, 60):
        sent.append(row.alert())
    titles = [a.mention.post.title or a.mention.post.text for a in sent]
    assert len(titles) == 4, titles        # two reports, the incident at the third, one update when it doubled
    assert titles[2].startswith("Incident: 3 people report Acme outage")
    assert titles[3].startswith("Incident (update): 6 people report Acme outage")


async def test_trouble_piling_up_raises_severity(store):
    from monitor.settings import IncidentConfig
    poller, _ = make_poller(store)
    poller.incidents = IncidentConfig(enabled=False)
    texts = [f"Acme {w} is broken" for w in ("billing", "router", "modem", "website", "invoice", "email", "tv",
                                            "app", "sim", "wifi", "portal")]
    await poller.poll("feed", ScriptedSource(FetchResult(posts=[make_post(i, text=t) for i, t in enumerate(texts)])),
                      CONFIG)
    later = make_post(99, text="Acme phone line is broken")
    await poller.poll("feed", ScriptedSource(FetchResult(posts=[later])), CONFIG)
    alerts = {}
    while row := store.claim("team", 9999.0, 60):
        alerts[row.alert().mention.post.id] = row.alert()
    first, last = alerts["0"], alerts["99"]
    assert any("negative reports lately" in r for r in last.assessment.reasons), last.assessment.reasons
    assert ["critical", "high", "medium", "low"].index(last.assessment.severity) <= \
        ["critical", "high", "medium", "low"].index(first.assessment.severity)


async def test_matching_and_triage_run_off_the_event_loop(store):
    """A 15,000-post first cycle is seconds of CPU: on the loop's thread it would hold every delivery back."""
    import threading

    poller, _ = make_poller(store)
    seen_on = []
    process = poller.pipeline.process

    def recording(*args, **kwargs):
        seen_on.append(threading.current_thread())
        return process(*args, **kwargs)

    poller.pipeline.process = recording
    report = await poller.poll("s", ScriptedSource(FetchResult(posts=[make_post(1), make_post(2)])), CONFIG)
    assert report.ok and report.alerts == 2
    assert seen_on and threading.current_thread() not in seen_on
