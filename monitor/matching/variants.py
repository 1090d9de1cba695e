"""What a configured name may look like in a post: inflected forms, transliterations, phonetic and
keyboard swaps, and the fuzzy policy. Everything here works on folded keys (see normalize.fold)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .normalize import script_of

# Noun endings added to a stem (folded: й->и, ё->е). Generated forms that are common words are dropped.
RU_ENDINGS = ("а", "у", "ом", "е", "ы", "и", "ов", "ам", "ами", "ах", "ои", "ою", "еи", "ею", "ю", "я",
              "ям", "ями", "ях", "ем", "ев", "ью")
IS_WEAK_MASC = ("i", "a", "inn", "ann", "anum", "ans", "ar", "arnir", "ana", "anna", "arnar")
IS_DEFINITE = ("inn", "ann", "anum", "ans")
IS_STRONG = ("s", "i", "inn", "inum", "ins", "ar", "ir", "a")
IS_WEAK_FEM = ("a", "u", "an", "una", "unni", "unnar")
EN_ENDINGS = ("s", "es")
FA_SUFFIXES = ("ها", "های", "هایی", "ی", "ای", "یی", "و", "رو", "را", "م", "ت", "ش", "مون", "تون", "شون",
               "مان", "تان", "شان", "ه", "ست", "ام", "ات", "اش", "یم", "ید", "ند")

# Persian letters people swap because they sound alike (folded to one representative).
FA_PHONETIC = str.maketrans({"ط": "ت", "ص": "س", "ث": "س", "ذ": "ز", "ض": "ز", "ظ": "ز", "پ": "ب",
                             "ح": "ه", "غ": "ق", "ژ": "ز", "گ": "ک"})

_CYR_TO_LAT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i",
               "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
               "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
               "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya"}
_CYR_TO_LAT_ALT = {"х": "h", "в": "w", "и": "y", "ю": "u", "я": "ia", "ц": "c", "ж": "j"}
_LAT_DIGRAPHS_CYR = {"shch": "щ", "sch": "щ", "sh": "ш", "ch": "ч", "zh": "ж", "kh": "х", "ts": "ц",
                     "yu": "ю", "ya": "я", "yo": "е", "ye": "е", "ph": "ф", "th": "т", "ck": "к", "ee": "и",
                     "oo": "у", "qu": "кв"}
_LAT_TO_CYR = {"a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и",
               "j": "дж", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р",
               "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "x": "кс", "y": "и", "z": "з"}
_LAT_TO_CYR_ALT = {"u": "ю", "c": "с"}
_LAT_DIGRAPHS_FA = {"sh": "ش", "ch": "چ", "kh": "خ", "zh": "ژ", "gh": "ق", "th": "ت", "ph": "ف", "ou": "و",
                    "oo": "و", "ee": "ی", "ck": "ک"}
_LAT_TO_FA = {"b": "ب", "c": "ک", "d": "د", "f": "ف", "g": "گ", "h": "ه", "j": "ج", "k": "ک", "l": "ل",
              "m": "م", "n": "ن", "p": "پ", "q": "ق", "r": "ر", "s": "س", "t": "ت", "v": "و", "w": "و",
              "x": "کس", "y": "ی", "z": "ز", "a": "ا", "e": "", "i": "ی", "o": "و", "u": "و"}
_FA_TO_LAT = {"ا": "a", "ب": "b", "پ": "p", "ت": "t", "ث": "s", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh",
              "د": "d", "ذ": "z", "ر": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh", "ص": "s", "ض": "z",
              "ط": "t", "ظ": "z", "ع": "", "غ": "gh", "ف": "f", "ق": "gh", "ک": "k", "گ": "g", "ل": "l",
              "م": "m", "ن": "n", "و": "o", "ه": "h", "ی": "i"}
_VOWELS = set("aeiouy")



@dataclass(frozen=True)
class FuzzyPolicy:
    """Edits allowed by the length of the name: none up to `min_length - 1`, one, two from `two_edits_from`."""
    enabled: bool = True
    min_length: int = 5
    two_edits_from: int = 9

    def max_edits(self, key: str) -> int:
        n = len(key)
        if not self.enabled or n < self.min_length:
            return 0
        return 2 if n >= self.two_edits_from else 1


@dataclass
class Form:
    """One lookup key a brand accepts, and why."""
    key: str
    kind: str          # exact | alias | variant | inflection
    term: str          # the configured term it derives from
    score: float
    how: str = ""      # e.g. "latin->cyrillic"
    ending: str = ""   # inflectional ending added to the form it derives from


@dataclass
class BrandForms:
    forms: dict[str, Form] = field(default_factory=dict)
    compounds: dict[str, Form] = field(default_factory=dict)  # stem -> form; stem + another word matches

    def add(self, form: Form) -> None:
        old = self.forms.get(form.key)
        if old is None or form.score > old.score:
            self.forms[form.key] = form


def phonetic_key(key: str) -> str:
    """Persian sound-alike letters folded together and doubled letters collapsed (any script)."""
    key = key.translate(FA_PHONETIC)
    return "".join(ch for i, ch in enumerate(key) if i == 0 or ch != key[i - 1])


def inflections(key: str, languages: Iterable[str]) -> list[tuple[str, str]]:
    """(form, ending) for the languages whose script matches the key."""
    script = script_of(key)
    langs = set(languages)
    out: list[tuple[str, str]] = []
    if script == "cyrillic" and "ru" in langs:
        stem = key[:-1] if key[-1] in "аяоеьиы" else key
        out += [(stem + e, e) for e in RU_ENDINGS]
    if script == "latin" and "is" in langs:
        out += [(f, e) for f, e in _icelandic(key)]
    if script == "latin" and "en" in langs:
        out += [(key + e, e) for e in EN_ENDINGS if e == "s" or key.endswith(("s", "x", "ch", "sh"))]
    if script == "arabic" and "fa" in langs:
        out += [(key + e, e) for e in FA_SUFFIXES]
    return [(f, how) for f, how in out if f != key]


def _icelandic(key: str) -> list[tuple[str, str]]:
    if key.endswith("inn") and len(key) > 5:
        stem = key[:-3]
        return [(stem + e, e) for e in IS_DEFINITE]
    if key.endswith("i"):
        return [(key[:-1] + e, e) for e in IS_WEAK_MASC]
    if key.endswith("a"):
        return [(key[:-1] + e, e) for e in IS_WEAK_FEM]
    return [(key + e, e) for e in IS_STRONG]


def compound_stems(key: str, languages: Iterable[str]) -> list[str]:
    """Stems that start a compound or derived word: Icelandic 'landsbanka|appið', Persian 'شاتل|موبایل',
    Russian 'сбербанк|овский'. Short Russian stems are left out: 'сбер|ежения' is not the bank."""
    script, langs = script_of(key), set(languages)
    if script == "latin" and "is" in langs and len(key) >= 6 and key.endswith("i"):
        return [key[:-1] + "a"]
    if script == "cyrillic" and "ru" in langs and len(key) >= 6:
        return [key]
    if script == "arabic" and "fa" in langs and len(key) >= 4:
        return [key]
    return []


def transliterations(key: str, languages: Iterable[str], have: Iterable[str] = (),
                     explicit: bool = True) -> list[tuple[str, str]]:
    """(form, how): Latin <-> Cyrillic <-> Persian spellings of a name given in one script, only into
    scripts the brand has no configured term in (`have`: scripts already covered). Latin -> Persian is
    rough (short vowels are not written), so it is done only when the brand lists "fa" explicitly."""
    script, langs, have = script_of(key), set(languages), set(have)
    if explicit is False:
        langs.discard("fa")
    out: list[tuple[str, str]] = []
    if script == "cyrillic":
        if langs & {"en", "is"} and "latin" not in have:
            out += [(v, "cyrillic->latin") for v in _cyr_to_lat(key)]
    elif script == "latin":
        if "ru" in langs and "cyrillic" not in have:
            out += [(v, "latin->cyrillic") for v in _lat_to_cyr(key)]
        if "fa" in langs and "arabic" not in have:
            out += [(v, "latin->persian") for v in _lat_to_fa(key)]
    elif script == "arabic" and set(languages) & {"en", "is"} and "latin" not in have:
        out += [(_fa_to_lat(key), "persian->latin")]
    return [(f, how) for f, how in dict.fromkeys(out) if f and f != key]


def _cyr_to_lat(key: str) -> list[str]:
    base = [_CYR_TO_LAT.get(ch, ch) for ch in key]
    out = ["".join(base)]
    for i, ch in enumerate(key):
        if ch in _CYR_TO_LAT_ALT:
            out.append("".join(base[:i] + [_CYR_TO_LAT_ALT[ch]] + base[i + 1:]))
    return out[:6]


def _segments(key: str, digraphs: dict[str, str]) -> list[str]:
    """Splits a Latin key into digraphs and single letters, longest first."""
    segs, i = [], 0
    while i < len(key):
        for n in (4, 3, 2):
            if key[i:i + n] in digraphs:
                segs.append(key[i:i + n])
                i += n
                break
        else:
            segs.append(key[i])
            i += 1
    return segs


def _lat_to_cyr(key: str) -> list[str]:
    segs = _segments(key, _LAT_DIGRAPHS_CYR)

    def one(seg: str, alt: bool) -> str:
        if seg in _LAT_DIGRAPHS_CYR:
            return _LAT_DIGRAPHS_CYR[seg]
        table = _LAT_TO_CYR_ALT if alt and seg in _LAT_TO_CYR_ALT else _LAT_TO_CYR
        return table.get(seg, seg)

    base = [one(s, False) for s in segs]
    out = ["".join(base)]
    for i, seg in enumerate(segs):
        if seg in _LAT_TO_CYR_ALT:
            out.append("".join(base[:i] + [one(seg, True)] + base[i + 1:]))
    dedup = "".join(ch for i, ch in enumerate(out[0]) if i == 0 or ch != out[0][i - 1])
    out.append(dedup)
    return list(dict.fromkeys(out))[:6]


def _lat_to_fa(key: str) -> list[str]:
    segs = _segments(key, _LAT_DIGRAPHS_FA)
    letters = []
    for i, seg in enumerate(segs):
        fa = _LAT_DIGRAPHS_FA.get(seg) or _LAT_TO_FA.get(seg, "")
        if i == 0 and seg in _VOWELS:
            fa = "ا" + ("ی" if seg == "i" else "و" if seg in "ou" else "")
        elif i > 0 and seg == segs[i - 1] and len(seg) == 1:
            fa = ""  # doubled Latin letters are written once
        letters.append(fa)
    if len(segs) > 1 and segs[0] == "s" and segs[1][0] not in _VOWELS:
        letters[0] = "اس"  # Persian adds a vowel before s+consonant: Snapp -> اسنپ
    primary = "".join(letters)
    # Short "a" inside the word is often not written: Snapp -> اسنپ, Shatel -> شاتل keeps its long a.
    without_a = "".join("" if seg == "a" and 0 < i < len(segs) - 1 else fa
                        for i, (seg, fa) in enumerate(zip(segs, letters)))
    if segs[-1] == "e":
        primary += "ه"
    variants = [primary] + ([without_a] if len(without_a) >= 4 else [])
    return list(dict.fromkeys(variants))


def _fa_to_lat(key: str) -> str:
    out = []
    for i, ch in enumerate(key):
        lat = _FA_TO_LAT.get(ch, "")
        if ch == "ا" and i == 0 and len(key) > 1 and key[1] == "س":
            lat = ""  # the prothetic alef of اسنپ
        elif ch == "ی" and (i == 0 or i + 1 < len(key) and key[i + 1] in "اوی"):
            lat = "y"
        elif ch == "و" and i == 0:
            lat = "v"
        out.append(lat)
    return "".join(out)
