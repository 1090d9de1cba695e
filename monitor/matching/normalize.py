"""Per-script normalization that keeps offsets: the text is first mapped one code point to one code point
(so a span in the normalized text is the same span in the original), then each token gets a lookup key
with joiners and marks removed and ligatures expanded.

Folding applied to every script: NFKC, case folding, Latin/Nordic accents (á→a, ð→d, þ→th, æ→ae, ö→o),
Cyrillic ё→е, й→и, Arabic-script letters to their Persian forms (ي→ی, ك→ک, ى→ی, ة→ه, hamza carriers),
tatweel and harakat dropped, Persian/Arabic digits to ASCII, Latin/Cyrillic homoglyphs inside one word.
"""
from __future__ import annotations

import re
import unicodedata

ZWNJ, ZWJ = "\u200c", "\u200d"

# Letters NFKD does not take apart, or that must become something else than their base letter.
_SPECIAL = {
    "þ": "th", "ð": "d", "æ": "ae", "ø": "o", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ı": "i",
    "ё": "е", "й": "и",
    "ي": "ی", "ى": "ی", "ئ": "ی", "ې": "ی", "ۍ": "ی", "ك": "ک", "ڪ": "ک", "ة": "ه", "ۀ": "ه", "ہ": "ه",
    "ە": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و",
    "_": " ", "\u00a0": " ", "\u2019": "'", "\u02bc": "'",
}
# Removed from lookup keys; inside a word they do not split it (ZWNJ does: see TOKEN_RE). Besides tatweel and
# soft hyphen: zero-width space and joiner, direction marks, bidi embeddings/overrides/isolates, invisible
# operators, variation selectors — format characters that hide a name ("Ac\u200bme") without changing it.
_IGNORABLE = "".join(map(chr, (0x0640, 0x00AD, 0x180E, *range(0x200B, 0x200C), *range(0x200D, 0x2010),
                               *range(0x202A, 0x202F), *range(0x2060, 0x2065), *range(0x2066, 0x206A),
                               *range(0xFE00, 0xFE10), 0xFEFF)))
_MARK_RANGES = ("\u0300-\u036f\u0483-\u0489\u0610-\u061a\u064b-\u065f\u0670"
                "\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed")
# the BMP's letters and forms, mathematical alphanumerics (𝐀𝐜𝐦𝐞) and enclosed/squared letters (🄰)
_TABLE_RANGES = ((0x0000, 0x2FFF), (0xFB00, 0xFFFF), (0x1D400, 0x1D7FF), (0x1F100, 0x1F1FF))
# ZWNJ shapes Persian words; between Latin or Cyrillic letters it only hides a name: make it the ignorable ZWJ
_ZWNJ_OUTSIDE_PERSIAN = re.compile("(?<=[a-zà-ɏа-я])\u200c(?=[a-zà-ɏа-я])")

TOKEN_RE = re.compile(rf"[\w{_MARK_RANGES}{_IGNORABLE}]+")
_CAMEL_RE = re.compile(r"[a-zà-ÿа-я][A-ZÀ-ÞА-ЯЁ]")
_MIXED_RE = re.compile(r"[a-z](?=[а-я])|[а-я](?=[a-z])")  # a Latin letter next to a Cyrillic one


def _fold_char(c: str) -> str:
    """The full matching form of one character (may be empty or several characters)."""
    if c in _IGNORABLE or c == ZWNJ:
        return ""
    if c.isdigit() and not c.isascii() and unicodedata.decimal(c, None) is not None:
        return str(unicodedata.decimal(c))
    out = []
    for ch in unicodedata.normalize("NFKC", c).casefold():
        ch = _SPECIAL.get(ch, ch)
        for d in unicodedata.normalize("NFKD", ch):
            if unicodedata.category(d) != "Mn":
                out.append(_SPECIAL.get(d, d))
    return "".join(out)


def _build_tables() -> tuple[dict[int, str], dict[int, str | None]]:
    one_to_one: dict[int, str] = {}
    key_table: dict[int, str | None] = {}
    for lo, hi in _TABLE_RANGES:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            if unicodedata.category(c) in ("Cs", "Cn"):
                continue
            full = _fold_char(c)
            if len(full) == 1:
                if full != c:
                    one_to_one[cp] = full
                continue
            low = c.lower()
            one = low if len(low) == 1 else c
            if one != c:
                one_to_one[cp] = one
            key_table[ord(one)] = full or None
    for c in _IGNORABLE + ZWNJ:
        key_table[ord(c)] = None
    return one_to_one, key_table


_ONE_TO_ONE, _KEY_TABLE = _build_tables()
_KEY_CHARS = frozenset(map(chr, _KEY_TABLE))  # characters a token's key drops or expands (none is ASCII)

_LAT_TO_CYR = dict(zip("aceopxykACEHKMOPTXYB", "асеорхукасенкмортхув"))
_CYR_TO_LAT = dict(zip("асеорхукАСЕНКМОРТХУВ", "aceopxykacehkmoptxyb"))


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def normalize(text: str) -> str:
    """Same length as `text`: offsets in the result are offsets in the original."""
    norm = text.translate(_ONE_TO_ONE)
    return _ZWNJ_OUTSIDE_PERSIAN.sub(ZWJ, norm) if ZWNJ in norm else norm


def fold(text: str) -> str:
    """The full matching form of a string (length may change): for configured terms and keys."""
    return normalize(text).translate(_KEY_TABLE)


def compact(term: str) -> str:
    """A configured name as one lookup key: 'Digi-Kala', 'digi kala', 'دیجی‌کالا' -> one word."""
    return "".join(t.translate(_KEY_TABLE) for t in TOKEN_RE.findall(normalize(term)))


Token = tuple[str, int, int, bool]  # key, start, end, homoglyph-fixed; plain tuples: this is the hot path


def plain_keys(text: str) -> list[str] | None:
    """The keys of the tokens of `text` when each key is its token as written (no camelCase hashtag to split, no
    Latin letter beside a Cyrillic one, no character a key folds), as most posts are; else None."""
    norm = normalize(text)
    if _is_plain(text, norm):
        return TOKEN_RE.findall(norm)
    return None


def _is_plain(text: str, norm: str) -> bool:
    return (_CAMEL_RE.search(text) is None and (norm.isascii() or _MIXED_RE.search(norm) is None)
            and _KEY_CHARS.isdisjoint(norm))


def tokenize(text: str, plain: bool | None = None) -> tuple[str, list[Token]]:
    """Normalized text plus its word tokens (offsets into `text`); camelCase hashtags are split. `plain`: whether
    plain_keys found the text plain, when it was asked (None: find out)."""
    norm = normalize(text)
    if plain is None:
        plain = _is_plain(text, norm)
    if plain:
        return norm, [(m.group(), m.start(), m.end(), False) for m in TOKEN_RE.finditer(norm)]
    camel = _CAMEL_RE.search(text) is not None
    mixed = [] if norm.isascii() else [m.start() for m in _MIXED_RE.finditer(norm)]
    spans = [m.span() for m in TOKEN_RE.finditer(norm)]
    if camel:
        spans = _split_camel(text, spans)
    table = _KEY_TABLE
    tokens = []
    for s, e in spans:
        piece, homoglyph = norm[s:e], False
        if mixed and any(s <= m < e for m in mixed):
            fixed = _fix_homoglyphs(text[s:e])
            homoglyph = fixed is not None
            piece = normalize(fixed) if fixed is not None else piece
        key = piece.translate(table)
        if key:
            tokens.append((key, s, e, homoglyph))
    return norm, tokens


def _split_camel(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    cuts = [m.start() + 1 for m in _CAMEL_RE.finditer(text)]
    out = []
    for s, e in spans:
        inner = [c for c in cuts if s < c < e]
        bounds = [s, *inner, e]
        out.extend(zip(bounds, bounds[1:]))
    return out


def _fix_homoglyphs(word: str) -> str | None:
    """A word mixing Latin and Cyrillic letters rewritten in the script its unambiguous letters use."""
    cyr = sum(_is_cyrillic(ch) and ch not in _CYR_TO_LAT for ch in word)
    lat = sum(_is_latin(ch) and ch not in _LAT_TO_CYR for ch in word)
    if cyr and lat:
        return None
    if not cyr and not lat:
        cyr = sum(_is_cyrillic(ch) for ch in word)
        lat = sum(_is_latin(ch) for ch in word)
    table = _LAT_TO_CYR if cyr >= lat else _CYR_TO_LAT
    return "".join(table.get(ch, ch) for ch in word)


def script_of(key: str) -> str:
    """'latin', 'cyrillic', 'arabic' or 'other', from the first letter that tells."""
    for ch in key:
        if "a" <= ch <= "z" or "\u00c0" <= ch <= "\u024f":
            return "latin"
        if "\u0400" <= ch <= "\u04ff":
            return "cyrillic"
        if "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f":
            return "arabic"
    return "other"


def fold_strict(text: str) -> str:
    """Like `compact`, but Latin accents and Nordic letters are kept (for brands with fold_accents off)."""
    out = []
    for ch in unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).casefold()):
        if "\u00c0" <= ch <= "\u024f" or ch.isspace():
            out.append(ch)
        else:
            out.append(_fold_char(ch) if ch not in "-._'" else " ")
    return "".join("".join(out).split())
