from __future__ import annotations

import pytest

from monitor.matching import Matcher, describe_variants
from monitor.models import Post
from monitor.settings import BrandConfig

BRANDS = [
    BrandConfig(name="Revolut"),
    BrandConfig(name="Snapp", keywords=["Snapp", "اسنپ"]),
    BrandConfig(name="Sberbank", keywords=["Сбербанк", "Сбер"]),
    BrandConfig(name="Landsbankinn", keywords=["Landsbanki"]),
    BrandConfig(name="Íslandsbanki", competitor=True),
    BrandConfig(name="Síminn"),
    BrandConfig(name="Shatel", keywords=["Shatel", "شاتل"], exclude=["space shuttle"]),
    BrandConfig(name="Digikala", keywords=["Digikala", "دیجی‌کالا"]),
    BrandConfig(name="Northwind"),
    BrandConfig(name="Notro"),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(BRANDS)


def post(text: str, title: str = "", lang: str | None = None) -> Post:
    return Post(source_id="t", platform="test", id="1", title=title, text=text, lang_hint=lang)


def found(matcher: Matcher, text: str) -> dict[str, tuple[str, str]]:
    """brand -> (kind, matched text) of its first match."""
    out = {}
    for m in matcher.match(post(text)):
        first = m.matches[0]
        out[m.brand] = (first.kind, text[first.start:first.end])
    return out


@pytest.mark.parametrize(("text", "brand", "kind", "span"), [
    ("I love Revolut's app", "Revolut", "exact", "Revolut"),
    ("Revolutt is down", "Revolut", "variant", "Revolutt"),          # doubled letter
    ("the revolot app crashed", "Revolut", "fuzzy", "revolot"),      # one substitution
    ("Revoult support", "Revolut", "fuzzy", "Revoult"),              # transposition
    ("Проблема со Сбербанком", "Sberbank", "inflection", "Сбербанком"),
    ("О Сбере слухи", "Sberbank", "inflection", "Сбере"),
    ("Sberbank app", "Sberbank", "variant", "Sberbank"),             # transliteration
    ("CБEPБAHK ВЕРНИ", "Sberbank", "variant", "CБEPБAHK"),           # homoglyphs
    ("Сбербнак опять", "Sberbank", "fuzzy", "Сбербнак"),
    ("Сбербанковские шутки", "Sberbank", "inflection", "Сбербанковские"),
    ("Landsbankinn er lokaður", "Landsbankinn", "inflection", "Landsbankinn"),
    ("hjá Landsbankanum", "Landsbankinn", "inflection", "Landsbankanum"),
    ("Landsbankaappið hrundi", "Landsbankinn", "inflection", "Landsbankaappið"),
    ("Lands bankinn", "Landsbankinn", "inflection", "Lands bankinn"),
    ("Simanum tókst", "Síminn", "inflection", "Simanum"),            # Nordic folding
    ("شاتل‌موبایل قطع", "Shatel", "exact", "شاتل"),
    ("شاتلو تمدید نمی‌کنم", "Shatel", "inflection", "شاتلو"),
    ("شاطل گرونه", "Shatel", "variant", "شاطل"),                    # ت/ط
    ("اسنب گرونه", "Snapp", "variant", "اسنب"),                     # پ/ب
    ("از دیجی کالا خریدم", "Digikala", "exact", "دیجی کالا"),
    ("digi-kala refund", "Digikala", "exact", "digi-kala"),
    ("see digikala.com", "Digikala", "exact", "digikala"),
    ("#دیجی_کالا حراج", "Digikala", "exact", "دیجی_کالا"),
    ("دیجي‌كالا خوبه", "Digikala", "exact", "دیجي‌كالا"),
    ("#SnappFood courier", "Snapp", "exact", "Snapp"),
    ("Dgikala app", "Digikala", "fuzzy", "Dgikala"),
    ("North Wind support is down", "Northwind", "exact", "North Wind"),
])
def test_finds_mentions(matcher: Matcher, text: str, brand: str, kind: str, span: str) -> None:
    assert found(matcher, text).get(brand) == (kind, span)


@pytest.mark.parametrize("text", [
    "snap a photo", "the snap election", "snappy laptop", "snaps",
    "the French revolution", "a revolt", "planets revolve", "revolving door",
    "Сбережения граждан растут", "Сборная сыграла", "сбор подписей",
    "Landsliðið vann", "Landsbyggðin á skilið betra", "Landspítalinn",
    "نهال شتل", "بازار دیجیتال", "کالا در انبار", "ایران",
    "The space shuttle by Shatel",  # exclude phrase
    "the north wind is cold",  # ordinary lower-case words that spell a name in pieces
    "It did not. To be fair, nobody expected it to",  # "not" + "To" ~ Notro: never across a sentence end
    "Would it work? Not. To. Worry.",
    "Shipped from the north. Wind was strong",
])
def test_traps_do_not_match(matcher: Matcher, text: str) -> None:
    assert found(matcher, text) == {}


@pytest.mark.parametrize("text", [
    "Revo\u200blut app is down",           # zero-width space
    "Revo\u200clut app is down",           # ZWNJ between Latin letters
    "Revo\u200dlut app is down",           # zero-width joiner
    "\u202eRevolut app is down",           # right-to-left override
    "Revo\u2066lut\u2069 app is down",     # isolates
    "Revolut\ufe0f app is down",           # variation selector
    "𝐑𝐞𝐯𝐨𝐥𝐮𝐭 app is down",                 # mathematical bold
    "Ｒｅｖｏｌｕｔ app is down",                 # fullwidth
])
def test_invisible_and_compatibility_characters_do_not_hide_a_name(matcher: Matcher, text: str) -> None:
    [mention] = matcher.match(post(text))
    assert mention.brand == "Revolut"
    start, end = mention.matches[0].start, mention.matches[0].end
    assert end - start >= len("Revolut") and text[end:].lstrip("\u2069\ufe0f").startswith(" app")


def test_zwnj_keeps_its_meaning_inside_persian_words(matcher: Matcher) -> None:
    assert [m.brand for m in matcher.match(post("دیجی‌کالا سفارشم رو نفرستاده"))] == ["Digikala"]
    assert [m.brand for m in matcher.match(post("دیجی\u200bکالا سفارشم رو نفرستاده"))] == ["Digikala"]


def test_competitor_closer_than_the_brand_takes_the_mention(matcher: Matcher) -> None:
    result = {m.brand: m for m in matcher.match(post("Ég skipti yfir til Íslandsbanka"))}
    assert set(result) == {"Íslandsbanki"}
    assert result["Íslandsbanki"].competitor is True


def test_offsets_point_into_title_newline_text(matcher: Matcher) -> None:
    p = post("hjá Landsbankanum", title="Сбербанк лежит")
    text = "Сбербанк лежит\nhjá Landsbankanum"
    spans = {m.brand: text[m.matches[0].start:m.matches[0].end] for m in matcher.match(p)}
    assert spans == {"Sberbank": "Сбербанк", "Landsbankinn": "Landsbankanum"}


def test_every_match_says_why(matcher: Matcher) -> None:
    [mention] = matcher.match(post("Revolut, REVOLUT and Revolutt"))
    assert [(m.term, m.kind, m.start, m.end) for m in mention.matches] == [
        ("Revolut", "exact", 0, 7), ("Revolut", "exact", 9, 16), ("Revolut", "variant", 21, 29)]
    assert all(0 < m.score <= 100 for m in mention.matches)


def test_fuzzy_off_keeps_exact_and_inflections_only() -> None:
    m = Matcher([BrandConfig(name="Revolut", fuzzy="off")])
    assert m.match(post("Revolutt is down")) == []
    assert [x.brand for x in m.match(post("Revolut is down"))] == ["Revolut"]


def test_fold_accents_off_requires_the_accents() -> None:
    m = Matcher([BrandConfig(name="Síminn", fold_accents=False)])
    assert m.match(post("Simanum tókst")) == []
    assert [x.matches[0].kind for x in m.match(post("Símanum tókst"))] == ["inflection"]


def test_languages_limit_inflections_and_post_language() -> None:
    m = Matcher([BrandConfig(name="Sberbank", keywords=["Сбербанк"], languages=["ru"])])
    assert m.match(post("Сбербанком", lang="ru"))
    assert m.match(post("Сбербанк", lang="en")) == []
    assert m.match(post("Sberbank")) == []  # no Latin transliteration without en/is


def test_a_shorter_fuzzy_policy_can_be_configured() -> None:
    m = Matcher([BrandConfig(name="Monzo", fuzzy_min_length=6)])
    assert m.match(post("Monzoo is down")) != []   # doubled letter is a variant, not fuzzy
    assert m.match(post("Monzu is down")) == []


def test_variants_and_describe(matcher: Matcher) -> None:
    v = matcher.variants("Sberbank")
    assert "сбербанк" in v["exact"]
    assert any(line.startswith("sberbank") for line in v["variant"])
    assert any("-ом" in line for line in v["inflection"])
    text = describe_variants(BRANDS)
    assert "Íslandsbanki (competitor)" in text and "landsbank + -a" in text
    with pytest.raises(KeyError):
        matcher.variants("Nope")
