"""Hand-written lexicons and phrase rules, one module per language.

Written from the authors' own knowledge of each language and of customer-service traffic; nothing here was
derived from (or tuned on) the labelled measuring sets. Word lists: a trailing `*` marks a stem that matches
any word starting with it (inflected languages); other entries match whole words. Valences use VADER's scale
(about -4 … +4).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import normalize

Tag = str  # "complaint" | "outage" | "question" | "request" | "praise" | "risk" | "rhetorical"


def words(valence: float, spec: str) -> dict[str, float]:
    return {w: valence for w in normalize(spec).lower().split()}


@dataclass(frozen=True)
class Phrase:
    pattern: re.Pattern[str]
    valence: float
    tag: Tag | None
    label: str


def phrases(valence: float, tag: Tag | None, *patterns: str) -> list[Phrase]:
    """Regex phrases over normalised lower-case text; matched on word boundaries."""
    out = []
    for p in patterns:
        rx = re.compile(r"(?<!\w)(?:" + normalize(p).lower() + r")(?!\w)")
        out.append(Phrase(rx, valence, tag, p.split("|")[0].replace("\\", "").replace("?", "")))
    return out


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, float]
    stems: dict[str, float]
    negators: frozenset[str]
    post_negators: frozenset[str] = frozenset()  # negate the word before (Persian "خوب نیست")
    intensifiers: frozenset[str] = frozenset()
    diminishers: frozenset[str] = frozenset()
    contrast: frozenset[str] = frozenset()  # "but": what follows weighs more
    question_words: frozenset[str] = frozenset()
    phrases: list[Phrase] = field(default_factory=list)
    min_stem: int = 4

    @classmethod
    def build(cls, entries: dict[str, float], **kw) -> Lexicon:
        plain = {w: v for w, v in entries.items() if not w.endswith("*")}
        stems = {w[:-1]: v for w, v in entries.items() if w.endswith("*")}
        sets = {k: frozenset(normalize(" ".join(v) if not isinstance(v, str) else v).lower().split())
                for k, v in kw.items() if k != "phrases" and k != "min_stem"}
        min_stem = min((len(s) for s in stems), default=1)
        return cls(words=plain, stems=stems, phrases=kw.get("phrases", []), min_stem=min_stem, **sets)

    def valence(self, token: str) -> float | None:
        v = self.words.get(token)
        if v is not None:
            return v
        for k in range(len(token), self.min_stem - 1, -1):
            v = self.stems.get(token[:k])
            if v is not None:
                return v
        return None
