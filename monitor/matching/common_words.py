"""Is a token an ordinary word of its language? A misspelled brand name must not be one ("snap", "revolt").

The answer comes from a compact table built from wordfreq's word lists (Zipf frequency >= COMMON_ZIPF in en/is
for Latin script, ru for Cyrillic, fa for Arabic script): 8-byte hashes of the words, sorted, 2 MB on disk and in
memory, instead of wordfreq's dictionaries (about 210 MB resident and 1.4 s of start-up). Rebuild it with
`python -m monitor.matching.common_words` (needs `pip install .[train]`, which brings wordfreq); see
data/README.md for the data's origin and licence.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from .normalize import script_of

COMMON_ZIPF = 2.5  # a token at least this frequent in its language is a word, not a misspelled name
LANGUAGES_BY_SCRIPT = {"latin": ("en", "is"), "cyrillic": ("ru",), "arabic": ("fa",)}
TABLE = Path(__file__).parent / "data" / "common_words.npy"
_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=1 << 16)
def is_common_word(word: str) -> bool:
    """A token with a digit ('10am', '4g') is not counted as a word."""
    script = script_of(word)
    if script not in LANGUAGES_BY_SCRIPT or _DIGIT.search(word):
        return False
    table = _table()
    key = np.uint64(_hash(script, word.casefold()))
    i = int(np.searchsorted(table, key))
    return i < len(table) and bool(table[i] == key)


@cache
def _table() -> np.ndarray:
    return np.load(TABLE, allow_pickle=False)


def _hash(script: str, word: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{script}\0{word}".encode(), digest_size=8).digest(), "little")


def build_table(words_by_script: dict[str, Iterable[str]]) -> np.ndarray:
    hashes = {_hash(script, w) for script, words in words_by_script.items() for w in words}
    return np.array(sorted(hashes), dtype=np.uint64)


def _common_words(lang: str) -> list[str]:
    from wordfreq import get_frequency_dict  # noqa: PLC0415 - build time only

    # zipf = log10(frequency per billion words), as wordfreq.zipf_frequency rounds it
    return [w for w, f in get_frequency_dict(lang).items()
            if round(math.log10(f) + 9, 2) >= COMMON_ZIPF and not _DIGIT.search(w)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.matching.common_words", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=TABLE)
    args = parser.parse_args(argv)
    words = {script: [w for lang in langs for w in _common_words(lang) if script_of(w) == script]
             for script, langs in LANGUAGES_BY_SCRIPT.items()}
    table = build_table(words)
    np.save(args.out, table, allow_pickle=False)
    print(f"{args.out}: {len(table)} words (" + ", ".join(f"{s} {len(w)}" for s, w in words.items()) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
