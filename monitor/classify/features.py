"""Post text -> hashed feature ids. Training (train.py) and the shipped model call the same function, so the
model sees at run time exactly the features it was trained on.

Features: words, word pairs, character 2-5-grams inside words, accent-folded words (Icelandic typed without
accents), emoji and !/? runs, shouting, length; the brand itself is masked so that no brand name carries a label.
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache

from .text import normalize

DEFAULT_BUCKETS = 1 << 18
BRAND = "\u2063brand"  # masks the matched brand; U+2063 never occurs in normalized text

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@[\w.]+")
_LONG_WORD = re.compile(r"[^\W\d_]{3,}")  # words long enough to count as shouting when in capitals
_REPEAT = re.compile(r"(\w)\1{2,}")  # "soooo" -> "soo"
_TOKEN = re.compile(r"\u2063brand|[^\W\d_]+|\d+|[!?]+|[^\w\s]")
_ARABIC_FORMS = frozenset("\u064a\u0649\u0643\u0629")  # ي ى ك ة: normalize() turns them Persian; Arabic keeps them
_FOLD = str.maketrans({"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ý": "y", "ð": "d", "þ": "th",
                       "æ": "ae", "ö": "o"})


def mask_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Replace each (start, end) span of `text` with the brand placeholder."""
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last or end > len(text):
            continue
        out.append(text[last:start])
        out.append(f" {BRAND} ")
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_brand(text: str, brand: str) -> str:
    """Training-time masking: every occurrence of the labelled brand string."""
    return text.replace(brand, f" {BRAND} ") if brand else text


def feature_names(text: str) -> set[str]:
    """The set of feature strings of one (already brand-masked) post."""
    norm = normalize(text)
    raw_words = _LONG_WORD.findall(norm)
    low = _REPEAT.sub(r"\1\1", _HANDLE.sub(" @h ", _URL.sub(" url ", norm)).casefold())
    tokens = [("0" if t.isdigit() else t) for t in _TOKEN.findall(low)]
    feats: set[str] = set()
    feats.update(f"r:{ch}" for ch in _ARABIC_FORMS.intersection(text))
    words = [t for t in tokens if t[0].isalpha() or t == BRAND]
    for t in dict.fromkeys(tokens):  # each distinct token once: its features are a set anyway
        feats.add(f"w:{t}")
        if t[0].isalpha():
            _char_grams(t, feats)
            folded = t.translate(_FOLD)
            if folded != t:
                feats.add(f"w:{folded}")
    for a, b in zip(tokens, tokens[1:]):
        feats.add(f"b:{a} {b}")
    caps = sum(1 for w in raw_words if w.isupper())
    if caps >= 2 or (raw_words and caps * 2 > len(raw_words)):
        feats.add("s:caps")
    feats.add(f"s:len{min(len(words) // 4, 10)}")
    return feats


def _char_grams(word: str, feats: set[str]) -> None:
    padded = f" {word} "
    feats.update("c:" + padded[i:i + n] for n in range(2, 6) for i in range(len(padded) - n + 1))


def feature_ids(text: str, extra: Sequence[str] = (), buckets: int = DEFAULT_BUCKETS) -> list[int]:
    """Stable hashed ids (crc32, not Python's salted hash) of the post's features, without repeats."""
    return sorted(text_ids(text, buckets).union(extra_ids(extra, buckets)))


def extra_ids(extra: Iterable[str], buckets: int) -> set[int]:
    """Ids of features that do not come from the text (the lexicon's verdict)."""
    return {zlib.crc32(f"x:{e}".encode()) % buckets for e in extra}


@lru_cache(maxsize=8)  # the same post twice in a row; a frozenset of ids is tens of KB
def text_ids(text: str, buckets: int) -> frozenset[int]:
    """The text's own ids, once per post: the language head and the other heads both need them."""
    return frozenset(zlib.crc32(f.encode()) % buckets for f in feature_names(text))
