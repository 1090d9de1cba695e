"""The labelled corpus (corpus/ in the repository): JSON lines per language folder, split into train / dev / test
by whole files (corpus/splits.txt). Needs no training libraries, so benches and tests read it too."""
from __future__ import annotations

import fnmatch
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from .features import mask_brand

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
