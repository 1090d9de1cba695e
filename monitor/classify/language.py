"""Offline language identification restricted to the configured languages (py3langid, BSD-3-Clause)."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from .text import letter_count, normalize, strip_handles

SUPPORTED = ("en", "fa", "ru", "is")
UNDETERMINED = "other"
MIN_LETTERS = 10  # below this a statistical guess is noise; only an unambiguous script decides

_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ICELANDIC_ONLY = re.compile(r"[ðþÐÞ]")
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")

_lock = threading.Lock()
_identifiers: dict[tuple[str, ...], object] = {}


def _identifier(languages: tuple[str, ...]):
    with _lock:
        if languages not in _identifiers:
            from py3langid.langid import (  # 0.8 s, 130 MB: load once, lazily
                MODEL_FILE,
                LanguageIdentifier,
            )

            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
            ident.set_languages(list(languages))
            _identifiers[languages] = ident
        return _identifiers[languages]


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
        return "ru" if "ru" in languages else UNDETERMINED
    if script == "latin" and _ICELANDIC_ONLY.search(text) and "is" in languages:
        return "is"
    latin = [lang for lang in languages if lang in ("en", "is")]
    return latin[0] if len(latin) == 1 else None if latin else UNDETERMINED


def detect_language(text: str, languages: Iterable[str] = SUPPORTED, *, min_letters: int = MIN_LETTERS) -> str:
    """One of `languages`, or "other" when the text has too few letters or none of their scripts."""
    langs = tuple(sorted(set(languages)))
    clean = strip_handles(normalize(text))
    by_script = _by_script(clean, langs)
    if letter_count(clean) < min_letters:
        return by_script if by_script in ("fa", "ru", "is") else UNDETERMINED
    if by_script in ("fa", "ru", UNDETERMINED) or (by_script and len(langs) == 1):
        return by_script
    lang, _score = _identifier(langs).classify(clean)
    return lang if lang in langs else UNDETERMINED
