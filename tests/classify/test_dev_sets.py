"""Regression floor for the hand-written sentiment dev sets (tests/data/classify/dev_<lang>.jsonl).

Each file is written in-house (nothing from the licensed measuring sets); a lexicon change that lowers its
macro-F1 below the floor fails here.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.classify.sentiment import analyze

DATA = Path(__file__).parent.parent / "data" / "classify"
LABELS = ("negative", "neutral", "positive")
# floor = measured macro-F1 on the whole file minus 0.03
FLOORS = {
    "fa": 0.814,  # measured 0.8441 on all 540 lines (first 300: 0.8636; new 240: dev 0.865, held-out 0.722)
    "en": 0.634,  # measured 0.6649 on all 300 lines (0.6238 before lexicon fixes drawn from its errors)
    "ru": 0.818,  # measured 0.8485 on all 300 lines (dev part 0.902, held-out part 0.735; before fixes 0.727 / 0.692)
    "is": 0.874,  # measured 0.9045 on all 300 lines (dev part 0.931, held-out part 0.854; before fixes 0.716 / 0.785)
}


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Unweighted mean of per-label F1 over (gold, predicted) pairs; a label never hit scores 0."""
    scores = []
    for label in LABELS:
        tp = sum(1 for gold, pred in pairs if gold == pred == label)
        fp = sum(1 for gold, pred in pairs if pred == label != gold)
        fn = sum(1 for gold, pred in pairs if gold == label != pred)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


DEV_SETS = sorted(DATA.glob("dev_*.jsonl"))


def test_dev_sets_exist_and_have_floors() -> None:
    languages = {p.stem.removeprefix("dev_") for p in DEV_SETS}
    assert languages and languages <= FLOORS.keys()


@pytest.mark.parametrize("path", DEV_SETS, ids=lambda p: p.stem)
def test_dev_set_macro_f1_stays_above_floor(path: Path) -> None:
    language = path.stem.removeprefix("dev_")
    rows = _rows(path)
    assert {r["label"] for r in rows} == set(LABELS)
    pairs = [(r["label"], analyze(r["text"], language).label) for r in rows]
    assert macro_f1(pairs) >= FLOORS[language]


def test_macro_f1_by_hand() -> None:
    # negative: tp 1, fp 1, fn 1 -> F1 1/2; neutral never right -> 0; positive 1
    pairs = [("negative", "negative"), ("negative", "neutral"), ("neutral", "negative"), ("positive", "positive")]
    assert macro_f1(pairs) == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert macro_f1([(label, label) for label in LABELS]) == 1.0
