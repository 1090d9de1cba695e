"""Offline language identification among the configured languages: the script decides, and for Latin
script (English or Icelandic) the languages' most frequent words and Icelandic's own letters do."""
from __future__ import annotations

import re
from collections.abc import Iterable

from .text import has_letters, normalize, strip_handles

SUPPORTED = ("en", "fa", "ru", "is")
LANGUAGE_NAMES = {"en": "English", "fa": "Persian", "ru": "Russian", "is": "Icelandic", "de": "German",
                  "es": "Spanish", "fr": "French", "it": "Italian", "pt": "Portuguese", "nl": "Dutch",
                  "nb": "Norwegian", "sv": "Swedish", "da": "Danish", "pl": "Polish", "tr": "Turkish",
                  "ar": "Arabic", "uk": "Ukrainian", "fi": "Finnish"}
UNDETERMINED = "other"
MIN_LETTERS = 10  # below this a statistical guess is noise; only an unambiguous script decides

_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]")  # letters Russian never uses: positive evidence against "ru"
_ICELANDIC_ONLY = re.compile(r"[ðþÐÞ]")
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")

# English and Icelandic are the only configured languages that share a script; their most frequent words
# and Icelandic's own letters tell them apart without a statistical model (which would cost ~120 MB).
_ICELANDIC_LETTERS = re.compile(r"[áéíóúýðþæö]", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")
_ICELANDIC_WORDS = frozenset(
    "og að er ekki ég það við sem á í um með fyrir var hann hún þetta eru til frá mjög bara mér þú hjá vera "
    "hefur hafa enn nú svo eða líka alveg hvað þegar ef allt eftir ég en sé hér þar þeir þær hjá okkur "
    "ykkur mig þig sig hans hennar vil vilja get gat kom fer fór verður var voru hafði".split())
_ENGLISH_WORDS = frozenset(
    "the and is to of a in it you for not this my with on was are that have be at your i me so but just can "
    "do no get from what all an or if they we he she his her our will would there their been has had "
    "about how when why still again please thanks thank".split())


def language_group(code: str) -> str:
    """en, fa, ru, is, or "other" for every other language code."""
    return code if code in SUPPORTED else UNDETERMINED


def _english_or_icelandic(text: str) -> str:
    words = [w.casefold() for w in _WORD.findall(text)]
    icelandic = sum(w in _ICELANDIC_WORDS for w in words) + len(_ICELANDIC_LETTERS.findall(text)) / 2
    english = sum(w in _ENGLISH_WORDS for w in words)
    return "is" if icelandic > english else "en"


def _by_script(text: str, languages: tuple[str, ...]) -> str | None:
    """The script alone settles it when only one configured language (or none) uses that script."""
    counts = {"arabic": len(_ARABIC_SCRIPT.findall(text)), "cyrillic": len(_CYRILLIC.findall(text)),
              "latin": len(_LATIN.findall(text))}
    script = max(counts, key=counts.__getitem__)
    if counts[script] == 0:
        return None
    if script == "arabic":
        return "fa" if "fa" in languages else UNDETERMINED
    if script == "cyrillic":
        return "ru" if "ru" in languages and not UKRAINIAN_ONLY.search(text) else UNDETERMINED
    if script == "latin" and _ICELANDIC_ONLY.search(text) and "is" in languages:
        return "is"
    latin = [lang for lang in languages if lang in ("en", "is")]
    return latin[0] if len(latin) == 1 else None if latin else UNDETERMINED


def detect_language(text: str, languages: Iterable[str] = SUPPORTED, *, min_letters: int = MIN_LETTERS) -> str:
    """One of `languages`, or "other" when the text has too few letters or none of their scripts."""
    langs = tuple(sorted(set(languages)))
    clean = strip_handles(normalize(text))
    by_script = _by_script(clean, langs)
    if not has_letters(clean, min_letters):
        return by_script if by_script in ("fa", "ru", "is") else UNDETERMINED
    return by_script or _english_or_icelandic(clean)
