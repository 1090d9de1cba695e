from dataclasses import replace

import pytest

from monitor.models import Send
from monitor.routing.escalation import due, escalate_due
from monitor.settings import RouteConfig
from monitor.sources.base import SourceState
from tests.factories import make_alert, make_post

RULES = [RouteConfig.model_validate({"name": "urgent", "notify": ["team"],
                                     "escalate": {"after": "30m", "notify": ["oncall"], "repeat": "15m", "max": 2}}),
         RouteConfig.model_validate({"name": "rest", "notify": ["team"]})]


@pytest.mark.parametrize("waited_min, done, expected", [
    (29, 0, None), (30, 0, (1, "30m")), (44, 1, None), (45, 1, (2, "45m")), (500, 2, None)])
def test_due_after_then_every_repeat_up_to_max(waited_min, done, expected):
    result = due(("urgent",), 0.0, done, waited_min * 60.0, RULES)
    assert (result and (result.round, result.note.split()[-1])) == expected
    if result:
        assert result.destinations == ("oncall",)


def test_routes_without_escalation_never_escalate():
    assert due(("rest",), 0.0, 0, 10**6, RULES) is None


async def test_unacknowledged_alert_escalates_on_time_and_stops_when_acknowledged(store):
    alert = replace(make_alert(make_post(1)), routes=("urgent",))
    store.ingest(SourceState("feed"), [make_post(1)], [(alert, {"team": Send()})], 1000.0)
    assert await escalate_due(store, RULES, 1000.0 + 29 * 60) == 0
    assert await escalate_due(store, RULES, 1000.0 + 30 * 60) == 1
    assert await escalate_due(store, RULES, 1000.0 + 31 * 60) == 0        # same round not queued twice
    store.claim("team", 10**6, 60)
    row = store.claim("oncall", 10**6, 60)
    assert row.alert().escalation == "not acknowledged after 30m"
    assert await escalate_due(store, RULES, 1000.0 + 45 * 60) == 1        # repeated
    store.ack(alert.id, 1000.0 + 46 * 60)
    assert await escalate_due(store, RULES, 1000.0 + 90 * 60) == 0        # acknowledged: stops


async def test_an_incident_escalates_once_not_per_report(store):
    from monitor.routing.incidents import absorb
    from monitor.settings import IncidentConfig
    posts = [make_post(i, text="Acme is down, cannot log in") for i in range(1, 6)]
    alerts = [replace(make_alert(p), routes=("urgent",)) for p in posts]
    items, incidents = absorb([(a, {"team": Send()}) for a in alerts], {}, {}, IncidentConfig(), 1000.0)
    notices = [a for a, _ in items if a.mention.post.platform == "incident"]
    store.ingest(SourceState("feed"), posts + [n.mention.post for n in notices], items, 1000.0, incidents)
    queued = await escalate_due(store, RULES, 1000.0 + 31 * 60)
    assert queued == 3          # the two reports sent before the incident opened, and the incident once
    store.ack(notices[0].id, 1000.0 + 32 * 60)
    assert await escalate_due(store, RULES, 1000.0 + 46 * 60) == 2   # the incident stays quiet
