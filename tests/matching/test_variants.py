from __future__ import annotations

import pytest

from monitor.matching.common_words import is_common_word
from monitor.matching.variants import FuzzyPolicy, compound_stems, inflections, phonetic_key, transliterations

ALL = ("en", "fa", "ru", "is")


@pytest.mark.parametrize(("length", "edits"), [(3, 0), (4, 0), (5, 1), (8, 1), (9, 2), (14, 2)])
def test_fuzzy_edits_grow_with_name_length(length: int, edits: int) -> None:
    assert FuzzyPolicy().max_edits("x" * length) == edits


def test_fuzzy_off_allows_no_edits() -> None:
    assert FuzzyPolicy(enabled=False).max_edits("landsbanki") == 0


@pytest.mark.parametrize(("key", "form"), [
    ("сбербанк", "сбербанком"), ("сбербанк", "сбербанке"), ("сбер", "сбера"),
    ("landsbanki", "landsbankann"), ("landsbanki", "landsbankanum"), ("landsbanki", "landsbankans"),
    ("siminn", "simanum"), ("siminn", "simans"), ("revolut", "revoluts"),
    ("شاتل", "شاتلو"), ("شاتل", "شاتلم"), ("دیجیکالا", "دیجیکالای"),
])
def test_inflections(key: str, form: str) -> None:
    assert form in [f for f, _ in inflections(key, ALL)]


def test_inflections_follow_the_brand_languages() -> None:
    assert inflections("сбербанк", ["en"]) == []
    assert "landsbankann" not in [f for f, _ in inflections("landsbanki", ["en"])]


def test_definite_icelandic_names_get_definite_forms_only() -> None:
    forms = [f for f, _ in inflections("siminn", ["is"])]
    assert "simi" not in forms and "sima" not in forms  # "sími"/"síma" is the common noun "phone"


@pytest.mark.parametrize(("key", "variant", "have"), [
    ("sberbank", "сбербанк", ()), ("сбербанк", "sberbank", ()), ("revolut", "револют", ()),
    ("snapp", "اسنپ", ()), ("شاتل", "shatl", ()),
])
def test_transliterations(key: str, variant: str, have: tuple[str, ...]) -> None:
    assert variant in [v for v, _ in transliterations(key, ALL, have)]


def test_no_transliteration_into_a_script_the_user_already_wrote() -> None:
    assert all(v != "شتل" for v, _ in transliterations("shatel", ALL, ("arabic",)))
    assert transliterations("shatel", ALL, ("arabic", "cyrillic")) == []


def test_latin_to_persian_only_when_fa_is_listed() -> None:
    assert not [v for v, how in transliterations("siminn", ALL, (), explicit=False) if how == "latin->persian"]


@pytest.mark.parametrize(("a", "b"), [("شاتل", "شاطل"), ("اسنپ", "اسنب"), ("سبز", "صبذ"), ("snapp", "snap"),
                                      ("revolutt", "revolut")])
def test_phonetic_key_merges_sound_alikes_and_doubles(a: str, b: str) -> None:
    assert phonetic_key(a) == phonetic_key(b)


def test_compound_stems() -> None:
    assert compound_stems("landsbanki", ALL) == ["landsbanka"]
    assert compound_stems("شاتل", ALL) == ["شاتل"]
    assert compound_stems("сбер", ALL) == []  # сбережения
    assert compound_stems("revolut", ALL) == []  # revolution


@pytest.mark.parametrize(("word", "common"), [
    ("revolt", True), ("snap", True), ("sími", True), ("banka", True), ("сборная", True), ("дома", True),
    ("دیجیتال", True), ("کالا", True),
    ("revolutt", False), ("landsbankkinn", False), ("сбрбанк", False), ("سبربانک", False), ("4g", False),
    ("snap1", False), ("ᚠᚢᚦ", False),
])
def test_common_word_lexicon(word: str, common: bool) -> None:
    assert is_common_word(word) is common
