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


def _post_features(text: str) -> tuple[set[str], list[str]]:
    """The features of one (already brand-masked) post as a whole (tokens that are not words, word pairs,
    shouting, length), and its distinct words, whose own features `_word_ids` adds."""
    norm = normalize(text)
    raw_words = _LONG_WORD.findall(norm)
    low = _REPEAT.sub(r"\1\1", _HANDLE.sub(" @h ", _URL.sub(" url ", norm)).casefold())
    tokens = [("0" if t.isdigit() else t) for t in _TOKEN.findall(low)]
    feats = {f"r:{ch}" for ch in _ARABIC_FORMS.intersection(text)}
    distinct = list(dict.fromkeys(tokens))
    words = [t for t in distinct if t[0].isalpha()]
    feats.update(f"w:{t}" for t in distinct if not t[0].isalpha())
    feats.update(f"b:{a} {b}" for a, b in zip(tokens, tokens[1:]))
    caps = sum(1 for w in raw_words if w.isupper())
    if caps >= 2 or (raw_words and caps * 2 > len(raw_words)):
        feats.add("s:caps")
    feats.add(f"s:len{min(sum(1 for t in tokens if t[0].isalpha() or t == BRAND) // 4, 10)}")
    return feats, words


@lru_cache(maxsize=8192)  # words recur from post to post; a few MB
def _word_ids(word: str, buckets: int) -> tuple[int, ...]:
    """A word's own features, hashed: the word, its character 2-5-grams, its accent-folded form."""
    padded = f" {word} "
    feats = {f"w:{word}", f"w:{word.translate(_FOLD)}"}
    feats.update("c:" + padded[i:i + n] for n in range(2, 6) for i in range(len(padded) - n + 1))
    return tuple({_hashed(f, buckets) for f in feats})


def _hashed(feature: str, buckets: int) -> int:
    return zlib.crc32(feature.encode()) % buckets


def feature_ids(text: str, extra: Sequence[str] = (), buckets: int = DEFAULT_BUCKETS) -> list[int]:
    """Stable hashed ids (crc32, not Python's salted hash) of the post's features, without repeats."""
    return sorted(text_ids(text, buckets).union(extra_ids(extra, buckets)))


def extra_ids(extra: Iterable[str], buckets: int) -> set[int]:
    """Ids of features that do not come from the text (the lexicon's verdict)."""
    return {_hashed(f"x:{e}", buckets) for e in extra}


@lru_cache(maxsize=8)  # the same post twice in a row; a frozenset of ids is tens of KB
def text_ids(text: str, buckets: int) -> frozenset[int]:
    """The text's own ids, once per post: the language head and the other heads both need them."""
    feats, words = _post_features(text)
    ids = {_hashed(f, buckets) for f in feats}
    for word in words:
        ids.update(_word_ids(word, buckets))
    return frozenset(ids)
