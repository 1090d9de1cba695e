"""Text normalisation shared by language ID, sentiment and category rules."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 5_000  # posts longer than this are cut: hostile input, and triage needs only the opening

_PERSIAN_MAP = str.maketrans({
    "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
    "\u0649": "\u06cc",  # alef maksura -> Persian yeh
    "\u0643": "\u06a9",  # Arabic kaf -> Persian keheh
    "\u0629": "\u0647",  # teh marbuta -> heh
    "\u200c": "",  # ZWNJ: users type "می‌شود", "میشود" and "می شود"; lexicons are written without it
    "\u200f": "", "\u200e": "", "\u0640": "",  # direction marks, tatweel
})
_ARABIC_DIACRITICS = re.compile(r"[\u064b-\u065f\u0670]")
_PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)[@#][\w.]+")


@lru_cache(maxsize=4)  # language ID and the lexicon each start from the same post text
def normalize(text: str) -> str:
    """NFKC, Persian letter forms, no ZWNJ/diacritics, Western digits, capped length. Case is kept."""
    text = text[:MAX_CHARS]
    if text.isascii():  # nothing below changes ASCII text, and most English posts are ASCII
        return text
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_PERSIAN_MAP).translate(_PERSIAN_DIGITS)
    text = _ARABIC_DIACRITICS.sub("", text)
    return text.replace("ё", "е").replace("Ё", "Е")


def strip_handles(text: str) -> str:
    """Drop URLs, @handles and #tags: they carry no language and no sentiment."""
    return _HANDLE.sub(" ", _URL.sub(" ", text))


def has_letters(text: str, at_least: int) -> bool:
    """Whether `text` has `at_least` letters; stops reading once it has."""
    for ch in text:
        if ch.isalpha():
            at_least -= 1
            if at_least <= 0:
                return True
    return at_least <= 0
