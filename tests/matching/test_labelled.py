"""Precision/recall/F1 per language on the hand-written labelled set (tests/data/matching).

The "validation" split (every fifth post) was never looked at while tuning; the goal is F1 >= 0.95 there.
Run `pytest tests/matching/test_labelled.py -s` to see both splits' figures.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from monitor.matching import Matcher
from monitor.models import Post
from monitor.settings import BrandConfig

DATA = Path(__file__).parents[1] / "data" / "matching"
LANGUAGES = ("en", "fa", "ru", "is")


def load_rows() -> list[dict]:
    with (DATA / "labelled.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_brands() -> list[BrandConfig]:
    return [BrandConfig(**b) for b in json.loads((DATA / "brands.json").read_text(encoding="utf-8"))]


def scores(matcher: Matcher, rows: list[dict]) -> tuple[dict[str, tuple[float, float, float]], list[str]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    errors = []
    for row in rows:
        post = Post(source_id="labelled", platform="test", id=row["id"], text=row["text"])
        found = {m.brand for m in matcher.match(post)}
        wanted = set(row["brands"])
        c = counts[row["lang"]]
        c[0] += len(found & wanted)
        c[1] += len(found - wanted)
        c[2] += len(wanted - found)
        if found != wanted:
            errors.append(f"{row['id']}: want {sorted(wanted)} got {sorted(found)}: {row['text']}")
    result = {}
    for lang, (tp, fp, fn) in counts.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        result[lang] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return result, errors


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_brands())


def test_the_set_is_big_enough_and_split() -> None:
    rows = load_rows()
    assert len(rows) >= 400
    for lang in LANGUAGES:
        mine = [r for r in rows if r["lang"] == lang]
        assert len(mine) >= 80
        share = sum(r["split"] == "validation" for r in mine) / len(mine)
        assert 0.15 <= share <= 0.25
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize("split", ["tune", "validation"])
def test_f1_per_language(matcher: Matcher, split: str) -> None:
    rows = [r for r in load_rows() if r["split"] == split]
    result, errors = scores(matcher, rows)
    for lang in LANGUAGES:
        p, r, f1 = result[lang]
        print(f"{split:10} {lang}: precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    if split == "tune":
        print("\n".join(errors))
    floor = 0.95 if split == "validation" else 0.9
    assert all(result[lang][2] >= floor for lang in LANGUAGES), result
