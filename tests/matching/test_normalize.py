from __future__ import annotations

import pytest

from monitor.matching.normalize import compact, fold, fold_strict, normalize, script_of, tokenize


@pytest.mark.parametrize(("raw", "want"), [
    ("Сбербанк", "сбербанк"),
    ("ёлка", "елка"),
    ("Símanum", "simanum"),
    ("Þjóðskrá", "thjodskra"),
    ("Æsa Ørn", "aesa orn"),
    ("Straße", "strasse"),
    ("دیجي‌كالا", "دیجیکالا"),          # Arabic yeh/kaf, ZWNJ
    ("شاتِلـــ", "شاتل"),               # harakat and tatweel
    ("مدرسة", "مدرسه"),                 # teh marbuta
    ("أإآ", "ااا"),                     # hamza carriers
    ("۱۲۳٤٥", "12345"),                 # Persian and Arabic digits
    ("ﬁne", "fine"),                    # ligature (NFKC)
    ("ＲＥＶＯＬＵＴ", "revolut"),       # full width
])
def test_fold(raw: str, want: str) -> None:
    assert fold(raw) == want


@pytest.mark.parametrize("raw", ["Сбербанк ёлка", "Símanum Þjóð", "دیجي‌كالا شاتِلـــ", "İstanbul Straße", "ﬁ ＲＥ"])
def test_normalize_keeps_length_so_offsets_stay_valid(raw: str) -> None:
    assert len(normalize(raw)) == len(raw)


@pytest.mark.parametrize(("raw", "want"), [
    ("Digi Kala", "digikala"), ("digi-kala", "digikala"), ("Digi.Kala", "digikala"),
    ("دیجی‌کالا", "دیجیکالا"), ("دیجی کالا", "دیجیکالا"), ("#digi_kala", "digikala"),
])
def test_compact_joins_names_written_in_pieces(raw: str, want: str) -> None:
    assert compact(raw) == want


@pytest.mark.parametrize(("raw", "keys", "homoglyph"), [
    ("CБEPБAHK", ["сбербанк"], True),          # Latin C, E, P, A, H, K inside a Cyrillic word
    ("Сбeрбанк", ["сбербанк"], True),          # one Latin e
    ("Revоlut", ["revolut"], True),            # one Cyrillic о inside a Latin word
    ("Сбербанк", ["сбербанк"], False),
])
def test_homoglyphs_follow_the_word_script(raw: str, keys: list[str], homoglyph: bool) -> None:
    _, tokens = tokenize(raw)
    assert [t[0] for t in tokens] == keys
    assert tokens[0][3] is homoglyph


def test_tokens_split_hashtags_handles_domains_and_camel_case() -> None:
    text = "#SnappFood @sberbank_ru digikala.com"
    _, tokens = tokenize(text)
    assert [t[0] for t in tokens] == ["snapp", "food", "sberbank", "ru", "digikala", "com"]
    assert [text[t[1]:t[2]] for t in tokens][:2] == ["Snapp", "Food"]


def test_zwnj_splits_persian_compounds_but_harakat_do_not() -> None:
    _, tokens = tokenize("شاتل‌موبایل شاتِل")
    assert [t[0] for t in tokens] == ["شاتل", "موبایل", "شاتل"]


def test_fold_strict_keeps_accents() -> None:
    assert fold_strict("Símanum") == "símanum"
    assert fold_strict("Digi-Kala") == "digikala"


@pytest.mark.parametrize(("key", "script"), [("revolut", "latin"), ("síminn", "latin"), ("сбер", "cyrillic"),
                                             ("شاتل", "arabic"), ("123", "other")])
def test_script_of(key: str, script: str) -> None:
    assert script_of(key) == script
