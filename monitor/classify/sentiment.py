"""Explainable lexicon-and-rule sentiment for en, fa, ru, is.

Each post yields `Signals`: a score in [-1, 1], the sentiment label, tags the category and severity rules use
(complaint, outage, risk, request, praise, question, rhetorical) and short reasons.
"""
from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass

from ..models import Sentiment
from .lexicons import Lexicon
from .text import normalize, strip_handles

LEXICON_MODULES = {"en": "en", "fa": "fa", "ru": "ru", "is": "is_"}  # imported on first use: 0.12 s of start-up
POSITIVE_AT = 0.25
NEGATIVE_AT = -0.15  # brand mentions lean negative: a faint negative signal is worth a look

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+|[.,;:!?()…]")
_CLAUSE_END = frozenset(".,;:!?()…")
_EMOTICON_POS = re.compile(r"(?<!\w)(?:[:;=8xX]-?[)\]D}pP3]|\^_?\^|<3)(?!\w)")
_EMOTICON_NEG = re.compile(r"(?<!\w)(?:[:;=]'?-?[(\[{/\\|]|D-?:|</3)(?!\w)")
_EMOJI_POS = frozenset("😀😃😄😁😆😊🙂😍🥰😘😎👍👏🙌💪❤♥💕💖💗💙💚💛🧡💜🤗🎉🥳✨🌟⭐💯✅😻🤩☺😇🔝")
_EMOJI_NEG = frozenset("😠😡🤬😤😞😔😟😕🙁☹😣😖😫😩😢😭😰😱💔👎🤦🙄😒😑💩🤮🤢😬😪😓🆘😨😧😦🤯")
_EMOJI_LAUGH = frozenset("😂🤣😹")
_EMOJI = _EMOJI_POS | _EMOJI_NEG | _EMOJI_LAUGH
_RHETORICAL = {
    "en": re.compile(r"\bwhy\b|\bhow come\b|\?{2,}|\?!|!\?"),
    "ru": re.compile(r"почему|зачем|\?{2,}|\?!|!\?"),
    "is": re.compile(r"af hverju|hvers vegna|\?{2,}|\?!|!\?"),
    "fa": re.compile(r"چرا|\?{2,}|\?!|!\?|؟{2,}|؟!"),
}
_SCORE_SCALE = 15.0
_SARCASM_DAMP = 0.4  # VADER's normalisation constant: x / sqrt(x² + 15)


@dataclass(frozen=True, slots=True)
class Signals:
    score: float
    label: Sentiment
    tags: frozenset[str]
    reasons: tuple[str, ...]


def label_for(score: float, positive_at: float = POSITIVE_AT, negative_at: float = NEGATIVE_AT) -> Sentiment:
    return "positive" if score >= positive_at else "negative" if score <= negative_at else "neutral"


def _lexicon(module: str) -> Lexicon:
    return importlib.import_module(f"{__package__}.lexicons.{module}").lexicon()


def analyze(text: str, language: str, *, positive_at: float = POSITIVE_AT,
            negative_at: float = NEGATIVE_AT) -> Signals:
    """Score one post. Unknown languages use the English rules (emoji and punctuation still count)."""
    lex = _lexicon(LEXICON_MODULES.get(language, "en"))
    norm = strip_handles(normalize(text)).replace("’", "'")
    low = norm.lower()
    tags: set[str] = set()
    reasons: list[str] = []
    phrase_pos, phrase_neg = _phrases(lex, low, tags, reasons)
    symbol_total = _symbols(norm, reasons)
    # sarcasm guard: "thanks for the 3 hour delay :(" — praise next to a complaint counts for less
    complaint = bool(tags & {"complaint", "outage"})
    damp_positive = complaint or symbol_total < 0
    word_total = _words(lex, norm, damp_positive, reasons)
    if complaint and symbol_total > 0:
        symbol_total *= _SARCASM_DAMP
    total = phrase_pos * (_SARCASM_DAMP if damp_positive else 1.0) + phrase_neg + word_total + symbol_total
    total += _punctuation(norm, language, total, tags, reasons)
    score = total / math.sqrt(total * total + _SCORE_SCALE) if total else 0.0
    return Signals(round(score, 4), label_for(score, positive_at, negative_at), frozenset(tags), tuple(reasons))


def _phrases(lex: Lexicon, low: str, tags: set[str], reasons: list[str]) -> tuple[float, float]:
    """Positive and negative phrase totals; tags collected on the way."""
    pos = neg = 0.0
    for phrase, hits in lex.phrase_hits(low):
        if phrase.tag:
            tags.add(phrase.tag)
        value = phrase.valence * min(len(hits), 2)
        pos, neg = (pos + value, neg) if value > 0 else (pos, neg + value)
        first = hits[0] if isinstance(hits[0], str) else phrase.label
        reasons.append(f'{phrase.tag or "phrase"}: "{first.strip()[:40]}"')
    return pos, neg


def _words(lex: Lexicon, norm: str, damp_positive: bool, reasons: list[str]) -> float:
    raw = _TOKEN.findall(norm)
    low = [t.lower() for t in raw]
    caps_post = _is_shouting(raw)
    contrasts = {i for i in range(len(low)) if _is_contrast(lex, low, i)}
    contrast_at = max(contrasts, default=-1)
    total, hits = 0.0, []
    for i, tok in enumerate(low):
        if tok in _CLAUSE_END:
            continue
        v = lex.valence(tok)
        if not v:
            continue
        v *= _modifier(lex, low, i)
        if _negated(lex, low, i, contrasts):
            v *= -0.75
        if raw[i].isupper() and len(raw[i]) >= 3 and not caps_post:
            v *= 1.4
        if contrast_at >= 0:
            v *= 1.5 if i > contrast_at else 0.5
        if damp_positive and v > 0:
            v *= _SARCASM_DAMP
        total += v
        hits.append(f"{tok}{v:+.1f}")
    if hits:
        reasons.append("words: " + " ".join(hits[:6]))
    if caps_post and total:
        total *= 1.3
        reasons.append("ALL CAPS")
    return total


def _is_contrast(lex: Lexicon, low: list[str], i: int) -> bool:
    if low[i] not in lex.contrast:
        return False
    comparative = lex.comparative
    return comparative is None or not any(comparative.fullmatch(t) for t in low[max(i - 2, 0):i])


def _is_shouting(raw: list[str]) -> bool:
    letters = [t for t in raw if t.isalpha() and len(t) >= 2]
    caps = sum(1 for t in letters if t.isupper())
    return caps >= 3 and caps / len(letters) >= 0.6


def _modifier(lex: Lexicon, low: list[str], i: int) -> float:
    for j in range(i - 1, max(i - 3, -1), -1):
        if low[j] in _CLAUSE_END:
            break
        if low[j] in lex.intensifiers:
            return 1.4
        if low[j] in lex.diminishers:
            return 0.6
    return 1.0


def _negated(lex: Lexicon, low: list[str], i: int, contrasts: set[int]) -> bool:
    for j in range(i - 1, max(i - 4, -1), -1):
        if low[j] in _CLAUSE_END or j in contrasts:  # "nothing but problems": the negation ends at "but"
            break
        if low[j] in lex.negators or low[j].endswith("n't"):
            return True
    for j in range(i + 1, min(i + 3, len(low))):
        if low[j] in _CLAUSE_END:
            break
        if low[j] in lex.post_negators:
            return True
    return False


def _symbols(norm: str, reasons: list[str]) -> float:
    emoji = "".join(ch for ch in norm if ch in _EMOJI) if not _EMOJI.isdisjoint(norm) else ""
    pos = len(_EMOTICON_POS.findall(norm)) + sum(1 for ch in emoji if ch in _EMOJI_POS)
    neg = len(_EMOTICON_NEG.findall(norm)) + sum(1 for ch in emoji if ch in _EMOJI_NEG)
    laugh = sum(1 for ch in emoji if ch in _EMOJI_LAUGH)
    rest = _EMOTICON_NEG.sub(" ", _EMOTICON_POS.sub(" ", norm))
    # Russian-style smileys: "спасибо)))" / "жаль((" — unbalanced brackets carry the mood
    opened, closed = rest.count("("), rest.count(")")
    pos += min(max(closed - opened, 0), 2)
    neg += min(max(opened - closed, 0), 2)
    total = 1.5 * min(pos, 3) - 1.5 * min(neg, 3) + 0.7 * min(laugh, 2)
    if pos or neg or laugh:
        reasons.append(f"emoji/emoticons +{pos} -{neg}" + (f" laughing {laugh}" if laugh else ""))
    return total


def _punctuation(norm: str, language: str, total: float, tags: set[str], reasons: list[str]) -> float:
    extra = 0.0
    if "?" in norm or "؟" in norm:
        tags.add("question")
        rhetorical = _RHETORICAL.get(language, _RHETORICAL["en"])
        if rhetorical.search(norm.lower()):
            tags.add("rhetorical")
            extra -= 1.2
            reasons.append("rhetorical question")
    bangs = min(norm.count("!"), 4)
    if bangs >= 2 and (total + extra):
        extra += math.copysign(0.3 * bangs, total + extra)
        reasons.append("!" * bangs)
    return extra
