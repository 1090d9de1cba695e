"""Drafted first replies: language, register, length, category, overrides, and never a refusal."""
from __future__ import annotations

import re

import pytest

from monitor.classify import Triage
from monitor.classify.reply import draft_reply, register_of
from monitor.models import CATEGORIES, Assessment
from tests.classify.builders import mention

CLASSIFIER = Triage()
SCRIPT = {"en": r"[A-Za-z]", "ru": r"[А-Яа-я]", "fa": r"[\u0600-\u06ff]", "is": r"[ðþæáéíóúýö]"}


@pytest.mark.parametrize(("text", "lang", "register"), [
    ("Dear Sir, I would like to ask about the billing address on my account.", "en", "formal"),
    ("omg ur app is broken again lol", "en", "informal"),
    ("Здравствуйте! Подскажите, пожалуйста, как сменить тариф?", "ru", "formal"),
    ("привет, чё опять всё лежит?", "ru", "informal"),
    ("با سلام، خواهشمندم نسبت به پیگیری درخواست اینجانب اقدام فرمایید.", "fa", "formal"),
    ("مرسی، دیگه مشکلی نداره", "fa", "informal"),
    ("Góðan dag, vinsamlegast hafið samband við mig varðandi reikninginn.", "is", "formal"),
    ("hæ, appið virkar ekki lol", "is", "informal"),
])
def test_register(text: str, lang: str, register: str) -> None:
    assert register_of(text, lang) == register


@pytest.mark.parametrize(("text", "lang"), [
    ("Still waiting for my refund, third time I call", "en"),
    ("Ещё жду ответа от поддержки, уже неделю", "ru"),
    ("هنوز منتظرم، یک هفته است کسی جواب نمی‌دهد", "fa"),
    ("Er enn að bíða eftir svari frá ykkur", "is"),
])
def test_reply_in_the_posts_language_with_the_four_parts(text: str, lang: str) -> None:
    m = mention(text, display_name="Sam Jones")
    a = CLASSIFIER.assess(m)
    reply = draft_reply(m, a)
    assert a.language == lang and re.search(SCRIPT[lang], reply)
    assert "Sam" in reply and "Jones" not in reply
    offer = {"en": "DM|direct message", "ru": "личн", "fa": "پیام خصوصی", "is": "einkaskilaboð"}[lang]
    thanks = {"en": "Thank", "ru": "Спасибо", "fa": "ممنون", "is": "Takk"}[lang]
    assert re.search(offer, reply) and thanks in reply


def test_longer_posts_get_fuller_replies() -> None:
    short = mention("My order never arrived")
    long = mention("My order never arrived. I ordered two weeks ago, paid for express shipping, and the tracking "
                   "page has said 'label created' ever since. I have emailed twice and heard nothing back.")
    a_short, a_long = CLASSIFIER.assess(short), CLASSIFIER.assess(long)
    assert a_short.category == a_long.category == "complaint"
    assert len(draft_reply(long, a_long)) > len(draft_reply(short, a_short)) + 40


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "is", "other"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_language_and_category_has_a_non_defensive_reply(lang: str, category: str) -> None:
    a = Assessment(language=lang, sentiment="neutral", sentiment_score=0.0, category=category, severity="low")
    for text in ("short", "long " * 60):
        reply = draft_reply(mention(text), a)
        assert reply and "{" not in reply and "}" not in reply
        assert not re.search(r"\b(?:no|not|can't|cannot|unfortunately|impossible|policy)\b", reply, re.IGNORECASE)
        assert not re.search(r"(?:^|\s)(?:нет|нельзя|невозможно)(?:\s|$)", reply)


def test_overrides_most_specific_wins_and_placeholders_fill() -> None:
    m = mention("omg the app is down lol", display_name="Kim")
    a = CLASSIFIER.assess(m)
    assert a.category == "outage"
    overrides = {"en.outage": "{hello} {brand} is on it. {dm}", "en.outage.informal.short": "Hey{name}, on it!"}
    assert draft_reply(m, a, overrides) == "Hey Kim, on it!"
    assert draft_reply(m, a, {"en.outage": "{hello} {brand} is on it. {unknown}"}) == "Hi Kim! Acme is on it. {unknown}"


def test_hostile_display_name_is_reduced_to_a_plain_first_name() -> None:
    m = mention("great app", display_name="<@here>\n{dm}  Second")
    reply = draft_reply(m, CLASSIFIER.assess(m))
    assert "@" not in reply and "<" not in reply and "\n" not in reply


def test_reply_templates_validate_in_triage_settings() -> None:
    from pydantic import ValidationError

    from monitor.classify import TriageSettings

    ok = TriageSettings.model_validate({"replies": {"en.complaint": "x", "is.outage.formal.long": "y"}})
    assert ok.replies["en.complaint"] == "x"
    with pytest.raises(ValidationError, match="reply template key"):
        TriageSettings.model_validate({"replies": {"english.complaint": "x"}})
