from datetime import datetime, timezone

import pytest

from monitor.models import Assessment, Mention, Post, Send
from monitor.routing.digest import next_digest, parse_schedule
from monitor.routing.router import active_mute, quiet_until, route
from monitor.settings import MuteConfig, QuietHours, RouteConfig

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def mention(brand="Acme", source="feed", competitor=False):
    return Mention(post=Post(source_id=source, platform="rss", id="1"), brand=brand, competitor=competitor, matches=())


def assessment(severity="high", sentiment="negative", category="complaint", language="en", issue="delivery",
               urgent=False):
    return Assessment(language=language, sentiment=sentiment, sentiment_score=-0.5, category=category,
                      severity=severity, issue=issue, urgent=urgent)


ROUTES = [
    RouteConfig.model_validate({"name": "urgent", "when": {"severity": ["critical", "high"]},
                                "notify": ["oncall", "team"], "respond_within": "30m"}),
    RouteConfig.model_validate({"name": "russian", "when": {"language": "ru"}, "notify": ["ru_team"]}),
    RouteConfig.model_validate({"name": "rivals", "when": {"competitor": True}, "notify": ["marketing"], "stop": True}),
    RouteConfig.model_validate({"name": "all", "when": {}, "notify": ["team"]}),
]


@pytest.mark.parametrize("m, a, routes, destinations, sla", [
    (mention(), assessment(), ("urgent", "all"), ("oncall", "team"), 1800),
    (mention(), assessment(severity="low", language="ru"), ("russian", "all"), ("ru_team", "team"), 3600),
    (mention(competitor=True), assessment(severity="low"), ("rivals",), ("marketing",), 3600),
    (mention(), assessment(severity="medium"), ("all",), ("team",), 3600),
])
def test_routes_in_order_each_destination_once(m, a, routes, destinations, sla):
    result = route(m, a, ROUTES, NOW)
    assert (result.routes, result.destinations, result.respond_within) == (routes, destinations, sla)


def test_no_matching_route():
    only_urgent = ROUTES[:1]
    assert route(mention(), assessment(severity="low"), only_urgent, NOW) is None


def test_every_filter_must_hold():
    rule = RouteConfig.model_validate({"name": "r", "notify": ["x"], "when": {
        "brand": "Acme", "source": "feed", "category": ["outage", "complaint"], "sentiment": "negative"}})
    assert route(mention(), assessment(), [rule], NOW) is not None
    assert route(mention(brand="Other"), assessment(), [rule], NOW) is None
    assert route(mention(source="hn"), assessment(), [rule], NOW) is None
    assert route(mention(), assessment(category="praise"), [rule], NOW) is None


def test_issue_and_urgent_filters():
    fraud = RouteConfig.model_validate({"name": "fraud", "notify": ["desk"],
                                        "when": {"issue": ["security_fraud", "legal"]}})
    urgent = RouteConfig.model_validate({"name": "now", "notify": ["pager"], "when": {"urgent": True}})
    calm = RouteConfig.model_validate({"name": "later", "notify": ["digest"], "when": {"urgent": False}})
    rules = [fraud, urgent, calm]
    assert route(mention(), assessment(issue="legal", urgent=True), rules, NOW).routes == ("fraud", "now")
    assert route(mention(), assessment(issue="billing", urgent=True), rules, NOW).routes == ("now",)
    assert route(mention(), assessment(issue="security_fraud"), rules, NOW).routes == ("fraud", "later")


def test_unknown_issue_in_a_route_is_a_config_error():
    with pytest.raises(ValueError, match="billing"):
        RouteConfig.model_validate({"name": "r", "notify": ["x"], "when": {"issue": "biling"}})


NIGHT = QuietHours(start="22:00", end="07:00", timezone="Atlantic/Reykjavik")
DAY = QuietHours(start="09:00", end="17:00", timezone="Europe/Moscow", except_severity=[])


@pytest.mark.parametrize("now, quiet, severity, expected", [
    ("2026-11-25T23:30:00+00:00", NIGHT, "high", "2026-11-26T07:00:00+00:00"),   # after start: until tomorrow
    ("2026-11-25T05:00:00+00:00", NIGHT, "high", "2026-11-25T07:00:00+00:00"),   # before end: until today
    ("2026-11-25T12:00:00+00:00", NIGHT, "high", None),                          # daytime
    ("2026-11-25T23:30:00+00:00", NIGHT, "critical", None),                      # critical overrides
    ("2026-11-25T07:00:00+00:00", DAY, "critical", "2026-11-25T14:00:00+00:00"), # 10:00 in Moscow (UTC+3)
    ("2026-11-25T15:00:00+00:00", DAY, "low", None),                             # 18:00 in Moscow
])
def test_quiet_until(now, quiet, severity, expected):
    result = quiet_until(datetime.fromisoformat(now), quiet, severity)
    assert (result and result.astimezone(timezone.utc)) == (expected and datetime.fromisoformat(expected))


def test_quiet_route_holds_its_destinations_but_not_another_routes():
    rules = [RouteConfig.model_validate({"name": "night", "notify": ["team", "email"],
                                         "quiet_hours": {"start": "00:00", "end": "23:59"}}),
             RouteConfig.model_validate({"name": "urgent", "when": {"severity": "high"}, "notify": ["team"]})]
    result = route(mention(), assessment(), rules, NOW)
    assert result.deliveries["team"] == Send()                    # the urgent route may send at once
    held = datetime.fromtimestamp(result.deliveries["email"].not_before, timezone.utc)
    assert (held.hour, held.minute) == (23, 59)                   # held until the quiet period ends


def test_mutes_expire():
    mute = MuteConfig.model_validate({"when": {"brand": "Acme"}, "until": "2026-11-26T00:00:00Z", "reason": "launch"})
    assert active_mute(mention(), assessment(), [mute], NOW) is mute
    assert active_mute(mention(brand="Other"), assessment(), [mute], NOW) is None
    assert active_mute(mention(), assessment(), [mute], datetime(2026, 11, 27, tzinfo=timezone.utc)) is None


def test_bad_time_zone_is_a_config_error():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        QuietHours(start="22:00", end="07:00", timezone="Mars/Olympus")


@pytest.mark.parametrize("now, schedule, expected", [
    ("2026-11-25T12:20:00+00:00", "hourly", "2026-11-25T13:00:00+00:00"),
    ("2026-11-25T08:00:00+00:00", "daily", "2026-11-25T09:00:00+00:00"),
    ("2026-11-25T09:00:00+00:00", "daily 09:00", "2026-11-26T09:00:00+00:00"),
    ("2026-11-25T10:00:00+00:00", "daily 09:00 Europe/Moscow", "2026-11-26T06:00:00+00:00"),
])
def test_next_digest(now, schedule, expected):
    assert next_digest(datetime.fromisoformat(now), parse_schedule(schedule)) == datetime.fromisoformat(expected)


@pytest.mark.parametrize("bad", ["weekly", "daily 25:00", "daily 9am", "daily 09:00 Nowhere/Land"])
def test_bad_digest_schedules(bad):
    with pytest.raises(ValueError):
        parse_schedule(bad)


def test_digest_route_batches_but_an_immediate_route_wins():
    rules = [RouteConfig.model_validate({"name": "praise", "notify": ["team", "email"], "digest": "hourly"}),
             RouteConfig.model_validate({"name": "urgent", "when": {"severity": "high"}, "notify": ["team"]})]
    result = route(mention(), assessment(), rules, NOW)
    assert result.deliveries["team"] == Send()
    assert result.deliveries["email"] == Send(not_before=datetime(2026, 11, 25, 13, tzinfo=timezone.utc).timestamp(),
                                              batch="digest:praise")
