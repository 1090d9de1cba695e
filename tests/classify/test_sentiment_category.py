"""Hand-written posts in four languages (tests/data/classify/posts.jsonl): language, sentiment, category."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.classify import Triage
from monitor.classify.sentiment import analyze
from tests.classify.builders import mention

POSTS = [json.loads(line) for line in
         (Path(__file__).parents[1] / "data/classify/posts.jsonl").read_text(encoding="utf-8").splitlines() if line]
CLASSIFIER = Triage()


@pytest.mark.parametrize("row", POSTS, ids=[f"{p['lang']}-{p['note']}" for p in POSTS])
def test_hand_written_posts(row: dict) -> None:
    a = CLASSIFIER.assess(mention(row["text"]))
    assert (a.language, a.sentiment, a.category) == (row["lang"], row["sentiment"], row["category"]), a.reasons
    assert -1.0 <= a.sentiment_score <= 1.0
    assert a.reasons and all(isinstance(r, str) and len(r) <= 120 for r in a.reasons)


@pytest.mark.parametrize(("plain", "louder", "lang"), [
    ("this is bad", "this is BAD", "en"),
    ("this is bad", "this is bad!!!", "en"),
    ("this is bad", "this is really bad", "en"),
    ("это плохо", "это очень плохо", "ru"),
    ("þetta er slæmt", "þetta er mjög slæmt", "is"),
    ("این بد است", "این خیلی بد است", "fa"),
])
def test_caps_exclamation_and_intensifiers_strengthen(plain: str, louder: str, lang: str) -> None:
    assert analyze(louder, lang).score < analyze(plain, lang).score < 0


@pytest.mark.parametrize(("text", "lang"), [("good", "en"), ("хорошо", "ru"), ("gott", "is"), ("خوب", "fa")])
def test_negation_flips(text: str, lang: str) -> None:
    negated = {"en": "not good", "ru": "не хорошо", "is": "ekki gott", "fa": "خوب نیست"}[lang]
    assert analyze(text, lang).score > 0 > analyze(negated, lang).score


@pytest.mark.parametrize(("text", "expected"), [(":)", "positive"), (":(", "negative"), ("🙂👍", "positive"),
                                                ("😡", "negative"), ("ok)))", "positive"), ("эх(((", "negative")])
def test_emoticons_and_emoji(text: str, expected: str) -> None:
    assert analyze(text, "en").label == expected


def test_smileys_next_to_a_complaint_do_not_turn_it_positive() -> None:
    sarcastic = analyze("Third time my card was declined at checkout :) :)", "en")
    assert "complaint" in sarcastic.tags and sarcastic.label == "negative"
    plain = analyze("Ещё жду возврат, третий раз пишу", "ru").score
    assert plain < analyze("Ещё жду возврат, третий раз пишу)))", "ru").score < plain + 0.15


def test_risk_wording_is_tagged_and_raises_severity() -> None:
    calm = CLASSIFIER.assess(mention("I was charged twice for my order"))
    legal = CLASSIFIER.assess(mention("I was charged twice for my order, my lawyer will hear about this"))
    assert calm.issue == "product_quality" and legal.issue == "security_fraud"  # the lexicon's coarse issue
    assert any(r.startswith("risk:") for r in legal.reasons) and not any(r.startswith("risk:") for r in calm.reasons)
    order = ["low", "medium", "high", "critical"]
    assert order.index(legal.severity) > order.index(calm.severity)


def test_competitor_complaint_is_capped_and_praise_is_low() -> None:
    angry = "The app is down again, worst service ever, nobody answers!!!"
    assert CLASSIFIER.assess(mention(angry, followers=500_000)).severity == "critical"
    assert CLASSIFIER.assess(mention(angry, followers=500_000, competitor=True)).severity == "medium"
    assert CLASSIFIER.assess(mention("Love you guys, best app ever!", followers=10**6, likes=10**4)).severity == "low"


def test_long_and_hostile_input_is_capped() -> None:
    a = CLASSIFIER.assess(mention("terrible " * 50_000))
    assert a.sentiment == "negative" and len(a.reasons) < 40


def test_velocity_and_author_history_are_inputs() -> None:
    m = mention("My order still hasn't arrived")
    base = CLASSIFIER.assess(m)
    busy = CLASSIFIER.assess(m, velocity=30, author_complaints=5)
    assert base.severity == "medium" and busy.severity == "critical"
    assert any("negative reports lately" in r for r in busy.reasons) and any("complained 5" in r for r in busy.reasons)


@pytest.mark.parametrize(("text", "expected"), [
    ("Never been better, thanks Acme", "positive"),
    ("I couldn't be happier with the new app", "positive"),
    ("No complaints, delivery was on time", "positive"),
    ("I have never seen such great service", "positive"),
    ("Nothing but problems since the update", "negative"),  # the negation ends at "but"
    ("The app is not good", "negative"),
])
def test_emphatic_negation_and_negation_scope(text: str, expected: str) -> None:
    assert analyze(text, "en").label == expected


def test_a_multi_word_lexicon_entry_is_refused_not_silently_dropped() -> None:
    from monitor.classify.lexicons import words
    assert words(2.0, "good great*") == {"good": 2.0, "great*": 2.0}
    with pytest.raises(ValueError, match="phrases"):
        words(2.0, "good vel_leikin")
