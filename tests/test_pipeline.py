"""Pipeline scoping by source: `brands:` limits which brands a source may alert, `about:` names the brand every
post of a source is about."""
import pytest

from monitor.app import build_pipeline
from monitor.errors import ConfigError
from monitor.settings import parse_settings
from tests.factories import NOW, make_post

CONFIG = """
brands: [{name: Acme}, {name: Globex, competitor: true}]
sources:
  reviews: {type: rss, url: "http://127.0.0.1:9/reviews.xml", about: Acme}
  acme_only: {type: rss, url: "http://127.0.0.1:9/news.xml", brands: [Acme]}
  news: {type: rss, url: "http://127.0.0.1:9/all.xml"}
notifiers: {team: {type: webhook, url: "http://127.0.0.1:9/hook"}}
routes: [{name: all, notify: [team]}]
"""
PIPELINE = build_pipeline(parse_settings(CONFIG))


def brands_alerted(source_id: str, text: str) -> list[tuple[str, str]]:
    outcomes = PIPELINE.process(make_post(source_id=source_id, text=text), NOW)
    return [(o.alert.mention.brand, o.alert.mention.matches[0].kind) for o in outcomes]


def test_about_makes_every_post_of_the_source_a_mention():
    assert brands_alerted("reviews", "Crashes every time I open it, useless") == [("Acme", "source")]
    assert brands_alerted("news", "Crashes every time I open it, useless") == []


def test_about_keeps_the_matcher_result_and_other_brands():
    assert brands_alerted("reviews", "Acme is worse than Globex") == [("Acme", "exact"), ("Globex", "exact")]


def test_brands_filter_drops_other_brands():
    assert brands_alerted("acme_only", "Acme is worse than Globex") == [("Acme", "exact")]


def test_the_about_post_is_triaged_like_any_other():
    [outcome] = PIPELINE.process(make_post(source_id="reviews", text="Crashes every time I open it, useless"), NOW)
    assert outcome.alert.assessment.sentiment == "negative"
    assert outcome.routing is not None and outcome.routing.routes == ("all",)


def test_about_must_name_a_configured_brand():
    with pytest.raises(ConfigError) as err:
        parse_settings(CONFIG.replace("about: Acme", "about: Acmee"), filename="monitor.yaml")
    assert "monitor.yaml:4: sources.reviews.about" in str(err.value) and "Acme" in str(err.value)
