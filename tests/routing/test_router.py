import pytest

from monitor.models import Assessment, Mention, Post
from monitor.routing.router import route
from monitor.settings import RouteConfig


def mention(brand="Acme", source="feed", competitor=False):
    return Mention(post=Post(source_id=source, platform="rss", id="1"), brand=brand, competitor=competitor, matches=())


def assessment(severity="high", sentiment="negative", category="complaint", language="en"):
    return Assessment(language=language, sentiment=sentiment, sentiment_score=-0.5, category=category,
                      severity=severity)


ROUTES = [
    RouteConfig.model_validate({"name": "urgent", "when": {"severity": ["critical", "high"]}, "notify": ["oncall", "team"],
                                "respond_within": "30m"}),
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
    result = route(m, a, ROUTES)
    assert (result.routes, result.destinations, result.respond_within) == (routes, destinations, sla)


def test_no_matching_route():
    only_urgent = ROUTES[:1]
    assert route(mention(), assessment(severity="low"), only_urgent) is None


def test_every_filter_must_hold():
    rule = RouteConfig.model_validate({"name": "r", "notify": ["x"], "when": {
        "brand": "Acme", "source": "feed", "category": ["outage", "complaint"], "sentiment": "negative"}})
    assert route(mention(), assessment(), [rule]) is not None
    assert route(mention(brand="Other"), assessment(), [rule]) is None
    assert route(mention(source="hn"), assessment(), [rule]) is None
    assert route(mention(), assessment(category="praise"), [rule]) is None
