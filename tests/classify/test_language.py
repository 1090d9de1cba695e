"""Offline language ID restricted to the configured languages."""
from __future__ import annotations

import pytest

from monitor.classify import Triage
from monitor.classify.language import detect_language
from tests.classify.builders import mention


@pytest.mark.parametrize(("text", "expected"), [
    ("My flight was delayed again and nobody told us anything", "en"),
    ("Flugið mitt seinkaði aftur og enginn sagði okkur neitt", "is"),
    ("Þjónustan var góð", "is"),
    ("Мой рейс снова задержали, и никто ничего не сказал", "ru"),
    ("پرواز من دوباره تاخیر داشت و کسی چیزی نگفت", "fa"),
    ("سرويس ديگر كار نمي كند", "fa"),  # Arabic ي/ك forms
    ("@acme https://example.com/x #fail", "other"),
    ("😡😡😡", "other"),
    ("ok", "other"),
    ("", "other"),
    ("нет", "ru"),  # short, but the script settles it
])
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_restricted_to_configured_languages() -> None:
    icelandic = "Flugið mitt seinkaði aftur og enginn sagði okkur neitt"
    assert detect_language(icelandic, ("en", "ru")) == "en"
    assert detect_language("Мой рейс снова задержали", ("en", "is")) == "other"


def test_source_hint_only_decides_short_posts() -> None:
    clf = Triage(languages=("en", "ru", "is", "fa"))
    assert clf.assess(mention("takk 👍", lang_hint="is")).language == "is"
    assert clf.assess(mention("The app keeps crashing on my phone", lang_hint="is")).language == "en"
