"""Hand-written lexicons and phrase rules, one module per language.

Written from the authors' own knowledge of each language and of customer-service traffic; nothing here was
derived from (or tuned on) the labelled measuring sets. Word lists: a trailing `*` marks a stem that matches
any word starting with it (inflected languages); other entries match whole words. Valences use VADER's scale
(about -4 … +4).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..text import normalize

Tag = str  # "complaint" | "outage" | "question" | "request" | "praise" | "risk" | "rhetorical"


def words(valence: float, spec: str) -> dict[str, float]:
    """Whitespace-separated single words or stems; a multi-word expression belongs in `phrases`."""
    entries = normalize(spec).lower().split()
    if bad := [w for w in entries if "_" in w]:
        raise ValueError(f"lexicon words are single words; write {bad[:3]} as phrases")
    return dict.fromkeys(entries, valence)


@dataclass(frozen=True)
class Phrase:
    pattern: re.Pattern[str]
    valence: float
    tag: Tag | None
    label: str
    needles: tuple[str, ...] | None = None  # a match contains one of these; None: unknown, always run the pattern


def phrases(valence: float, tag: Tag | None, *patterns: str) -> list[Phrase]:
    """Regex phrases over normalised lower-case text; matched on word boundaries."""
    out = []
    for p in patterns:
        rx = re.compile(r"(?<!\w)(?:" + normalize(p).lower() + r")(?!\w)")
        out.append(Phrase(rx, valence, tag, p.split("|")[0].replace("\\", "").replace("?", ""), _needles_of(rx)))
    return out


def _needles_of(rx: re.Pattern[str]) -> tuple[str, ...] | None:
    """Literal strings one of which every match of `rx` contains, read from its parse tree (exact as long as the
    pattern is case-sensitive, as phrases are); None when the tree shows none, or cannot be read."""
    if rx.flags & re.IGNORECASE:
        return None
    try:
        from re import _constants, _parser  # noqa: PLC0415 - the running Python's own regex parser
        found = _required(list(_parser.parse(rx.pattern, rx.flags)), _constants)
    except Exception:  # a private module: if it ever changes shape, phrases simply run unfiltered
        return None
    return tuple(sorted(found)) if found else None


def _required(items: list, op_codes: Any) -> set[str] | None:
    """For a parsed sequence: the best set of strings (longest shortest member) one of which any match contains."""
    best: set[str] | None = None
    run: list[str] = []

    def consider(candidate: set[str] | None) -> None:
        nonlocal best
        if candidate and (best is None or min(map(len, candidate)) > min(map(len, best))):
            best = candidate

    for op, av in [*items, (None, None)]:
        if op is op_codes.LITERAL:
            run.append(chr(av))
            continue
        if run:
            consider({"".join(run)})
            run = []
        if op is op_codes.SUBPATTERN:
            consider(_required(list(av[-1]), op_codes))
        elif op is op_codes.BRANCH:
            branches = [_required(list(b), op_codes) for b in av[1]]
            if all(branches):
                consider(set().union(*branches))
        elif op in (op_codes.MAX_REPEAT, op_codes.MIN_REPEAT) and av[0] >= 1:
            consider(_required(list(av[2]), op_codes))
    return best


_NOT_SETS = frozenset({"phrases", "min_stem", "suffixes", "min_base", "negating_prefix", "comparative"})


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, float]
    stems: dict[str, float]
    negators: frozenset[str]
    post_negators: frozenset[str] = frozenset()  # negate the word before (Persian "خوب نیست")
    intensifiers: frozenset[str] = frozenset()
    diminishers: frozenset[str] = frozenset()
    contrast: frozenset[str] = frozenset()  # "but": what follows weighs more
    # Where a contrast word also means "than" (Icelandic «en»): a token this pattern fully matches, right before
    # it or one word earlier, makes it "than" («betri en búist var við»).
    comparative: re.Pattern[str] | None = None
    phrases: list[Phrase] = field(default_factory=list)
    min_stem: int = 4
    # Optional fallback (off by default, used by fa): when a word misses, strip one of these suffixes (longest
    # first) and look the rest up as a whole word if it keeps at least `min_base` letters ("مشکلات" -> "مشکل").
    suffixes: tuple[str, ...] = ()
    min_base: int = 3
    # Optional negating verb prefix (fa "ن"): "نمیارزه" scores as a flipped "میارزه", only for the verb forms
    # listed in `negatable` (a bare prefix rule would read "نگران" as a negated "گران").
    negating_prefix: str = ""
    negatable: frozenset[str] = frozenset()
    # every phrase's needles, for phrase_hits
    _needles: frozenset[str] = field(init=False, default=frozenset(), compare=False, repr=False)
    # token -> valence: most tokens of a post are not in the lexicon, and finding that out takes a lookup per
    # stem length; tokens recur from post to post
    _known: dict[str, float | None] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        needles = frozenset(n for p in self.phrases for n in p.needles or ())
        object.__setattr__(self, "_needles", needles)

    def phrase_hits(self, low: str) -> list[tuple[Phrase, list]]:
        """(phrase, pattern.findall) for each phrase found in normalised lower-case `low`. A phrase none of whose
        needles occur is skipped: one substring test per needle beats a regex pass per phrase, each with a
        look-behind at every position."""
        present = {n for n in self._needles if n in low}
        found = []
        for phrase in self.phrases:
            if phrase.needles is not None and present.isdisjoint(phrase.needles):
                continue
            hits = phrase.pattern.findall(low)
            if hits:
                found.append((phrase, hits))
        return found

    @classmethod
    def build(cls, entries: dict[str, float], **kw) -> Lexicon:
        plain = {w: v for w, v in entries.items() if not w.endswith("*")}
        stems = {w[:-1]: v for w, v in entries.items() if w.endswith("*")}
        sets = {k: frozenset(normalize(" ".join(v) if not isinstance(v, str) else v).lower().split())
                for k, v in kw.items() if k not in _NOT_SETS}
        min_stem = min((len(s) for s in stems), default=1)
        extra = {k: v for k, v in kw.items() if k in _NOT_SETS and k != "min_stem"}
        return cls(words=plain, stems=stems, min_stem=min_stem, **extra, **sets)

    def valence(self, token: str) -> float | None:
        known = self._known
        if token in known:
            return known[token]
        if len(known) >= 50_000:
            known.clear()
        v = known[token] = self._valence(token)
        return v

    def _valence(self, token: str) -> float | None:
        v = self._lookup(token)
        if v is not None:
            return v
        for suffix in self.suffixes:
            if token.endswith(suffix) and len(token) - len(suffix) >= self.min_base:
                v = self.words.get(token[:-len(suffix)])
                if v is not None:
                    return v
        p = self.negating_prefix
        if p and token.startswith(p) and token[len(p):] in self.negatable:
            return -0.75 * self.words.get(token[len(p):], 0.0)  # same weight as a negator word in sentiment._words
        return None

    def _lookup(self, token: str) -> float | None:
        v = self.words.get(token)
        if v is not None:
            return v
        for k in range(len(token), self.min_stem - 1, -1):
            v = self.stems.get(token[:k])
            if v is not None:
                return v
        return None
