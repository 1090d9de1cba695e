"""Phrase patterns are skipped on posts that contain none of the literal strings every match of them needs: the
skip must never hide a match."""
from __future__ import annotations

import pytest

from monitor.classify import sentiment
from monitor.classify.lexicons import Lexicon, phrases


def test_needles_are_read_from_the_pattern():
    on_hold, = phrases(-1.0, None, "(?:been )?on hold")
    assert on_hold.needles == ("on hold",)
    waited, = phrases(-1.0, None, r"waited (?:\d+|two|three) (?:hours?|days?)")
    assert waited.needles == ("waited ",)
    either, = phrases(-1.0, None, "refund(?:ed)?|money back")
    assert either.needles == ("money back", "refund")
    number, = phrases(-1.0, None, r"\d+")
    assert number.needles is None  # nothing literal: always run


@pytest.mark.parametrize("text", ["I've been on hold for an hour", "still ON HOLD", "hold on, holding",
                                  "we waited 3 hours", "waited two days!", "no refund, no money back", "refunded"])
def test_a_skipped_pattern_would_not_have_matched(text):
    lexicon = Lexicon.build({}, negators="not", phrases=phrases(-1.0, None, "(?:been )?on hold",
                                                r"waited (?:\d+|two|three) (?:hours?|days?)",
                                                "refund(?:ed)?|money back", r"\d+ hours"))
    low = text.lower()
    unfiltered = [(p.label, p.pattern.findall(low)) for p in lexicon.phrases if p.pattern.findall(low)]
    assert [(p.label, hits) for p, hits in lexicon.phrase_hits(low)] == unfiltered


@pytest.mark.parametrize("lang", ["en", "fa", "ru", "is"])
def test_every_shipped_phrase_has_needles(lang):
    lexicon = sentiment._lexicon(sentiment.LEXICON_MODULES[lang])
    assert [p.label for p in lexicon.phrases if p.needles is None] == []
