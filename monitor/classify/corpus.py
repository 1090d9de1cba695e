"""The labelled corpus (corpus/ in the repository): JSON lines per language folder, split into train / dev / test
by whole files (corpus/splits.txt). Needs no training libraries, so benches and tests read it too."""
from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from ..models import ISSUES, SENTIMENTS, Match, Mention, Post
from .classifier import Classifier
from .features import mask_brand
from .language import language_group

NEAR_DUPLICATE = 90  # rapidfuzz ratio: a dev/test post this close to a train post is dropped from dev/test


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    brand: str
    lang: str
    split: str
    sentiment: str | None
    issue: str | None
    urgent: bool | None

    @property
    def masked(self) -> str:
        """The text with its brand masked, as the model sees it."""
        return mask_brand(self.text, self.brand)


def load_corpus(root: Path) -> list[Row]:
    rules = _split_rules(root / "splits.txt")
    rows: list[Row] = []
    for path in sorted(root.glob("*/*.jsonl")):
        rel = path.relative_to(root).as_posix()
        split = next((s for pattern, s in rules if fnmatch.fnmatch(rel, pattern)), "train")
        folder_lang = path.parent.name
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                lang = d.get("lang", folder_lang) if folder_lang == "other" else folder_lang
                rows.append(Row(text=d["text"], brand=d.get("brand", ""), lang=lang, split=split,
                                sentiment=d.get("sentiment", d.get("label")), issue=d.get("issue"),
                                urgent=d.get("urgent")))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{n}: {exc!r}") from None
    return _drop_near_duplicates(rows)


def _split_rules(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    lines = (ln.split("#")[0].split() for ln in path.read_text(encoding="utf-8").splitlines())
    return [(p[0], p[1]) for p in lines if len(p) == 2]


def _drop_near_duplicates(rows: list[Row]) -> list[Row]:
    train = [r.text.casefold() for r in rows if r.split == "train"]
    held = [i for i, r in enumerate(rows) if r.split != "train"]
    if not train or not held:
        return rows
    scores = cdist([rows[i].text.casefold() for i in held], train, scorer=fuzz.ratio, dtype=np.uint8, workers=-1)
    drop = {held[k] for k in np.nonzero(scores.max(axis=1) >= NEAR_DUPLICATE)[0]}
    if drop:
        print(f"dropped {len(drop)} dev/test posts nearly identical to a train post", file=sys.stderr)
    return [r for i, r in enumerate(rows) if i not in drop]


# -- scoring triage on a split, the way the daemon runs it (bench/bench_triage.py, tests) ---------------

def macro_f1(pairs: Sequence[tuple[str, str]], labels: Sequence[str]) -> float:
    """Mean F1 over the labels present in gold or predictions."""
    present = [lab for lab in labels if any(lab in p for p in pairs)]
    f1s = []
    for lab in present:
        tp = sum(1 for g, p in pairs if g == p == lab)
        fp = sum(1 for g, p in pairs if p == lab != g)
        fn = sum(1 for g, p in pairs if g == lab != p)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def mention_of(i: int, row: Row) -> Mention:
    """The row as the matcher would hand it over: its brand matched where the text names it."""
    post = Post(source_id="bench", platform="bench", id=str(i), text=row.text)
    start = row.text.find(row.brand) if row.brand else -1
    matches = (Match(term=row.brand, kind="exact", score=100.0, start=start, end=start + len(row.brand)),) \
        if start >= 0 else ()
    return Mention(post=post, brand=row.brand or "x", competitor=False, matches=matches)


def score(triage: Classifier, rows: list[Row]) -> dict[str, dict[str, float]]:
    """language group -> metric -> value."""
    by_lang: dict[str, list] = {}
    for i, row in enumerate(rows):
        by_lang.setdefault(language_group(row.lang), []).append((row, triage.assess(mention_of(i, row))))
    out: dict[str, dict[str, float]] = {}
    for lang, pairs in by_lang.items():
        m: dict[str, float] = {"n": len(pairs)}
        m["language"] = sum(a.language == lang for _, a in pairs) / len(pairs)
        sent = [(r.sentiment, a.sentiment) for r, a in pairs if r.sentiment]
        issue = [(r.issue, a.issue) for r, a in pairs if r.issue]
        urgent = [(r.urgent, a.urgent) for r, a in pairs if r.urgent is not None]
        if sent:
            m["sentiment"] = macro_f1(sent, SENTIMENTS)
        if issue:
            m["issue"] = macro_f1(issue, ISSUES)
        if urgent:
            m["urgent"] = sum(g == p for g, p in urgent) / len(urgent)
        out[lang] = m
    return out
