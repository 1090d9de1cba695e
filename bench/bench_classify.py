"""Measure triage on the public labelled sets in ../shared/data (measuring only; never shipped, never tuned on).

    .venv/bin/python bench/bench_classify.py [--data PATH] [--limit N] [--model shipped|lexicon]

Prints per-set macro-F1 (and accuracy), posts/s for the whole assess() one post at a time, and language-ID
accuracy, for the shipped model (default) or the lexicon fallback. Sets that are absent are skipped. Nothing
here feeds back into the model, the corpus, the lexicons or any threshold.
"""
from __future__ import annotations

import argparse
import bz2  # noqa: F401  (kept for the TWCS set, which is not scored: it has no sentiment labels)
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.classify import Triage, TriageSettings, load_triage_model
from monitor.models import Mention, Post

csv.field_size_limit(10_000_000)
Example = tuple[str, str]  # (text, gold label)


def macro_f1(gold: list[str], pred: list[str], labels: list[str]) -> float:
    f1s = []
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred) if g == lab and p != lab)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def macro_recall(gold: list[str], pred: list[str], labels: list[str]) -> float:
    rec = [sum(1 for g, p in zip(gold, pred) if g == p == lab) / max(1, gold.count(lab)) for lab in labels]
    return sum(rec) / len(rec)


def _rows(path: Path, **kw) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.reader(fh, **kw)


def airline(d: Path) -> list[Example]:
    rows = csv.DictReader((d / "airline_tweets/Tweets.csv").open(encoding="utf-8", newline=""))
    return [(r["text"], r["airline_sentiment"]) for r in rows]


def tweeteval(d: Path) -> list[Example]:
    base = d / "tweeteval_sentiment"
    names = {"0": "negative", "1": "neutral", "2": "positive"}
    texts = (base / "test_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (base / "test_labels.txt").read_text(encoding="utf-8").split()
    return [(t, names[lab]) for t, lab in zip(texts, labels)]


def complaints(d: Path) -> list[Example]:
    rows = _rows(d / "complaints_preotiuc2019/complaints-data.csv")
    return [(r[1], "complaint" if r[2] == "1" else "not") for r in rows]


def _five_to_three(value: int) -> str:
    return "negative" if value < 0 else "positive" if value > 0 else "neutral"


def deepsentipers(d: Path) -> list[Example]:
    return [(r[0], _five_to_three(int(r[1]))) for r in _rows(d / "deepsentipers/test.csv") if len(r) >= 2]


def parsinlu(d: Path) -> list[Example]:
    out = []
    for name in ("food.jsonl", "movie.jsonl"):
        for line in (d / "parsinlu_sentiment" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            value = int(row["sentiment"])
            out.append((row["review"], "neutral" if value == 3 else _five_to_three(value)))
    return out


def rusentitweet(d: Path) -> list[Example]:
    rows = csv.DictReader((d / "rusentitweet/rusentitweet_test.csv").open(encoding="utf-8", newline=""))
    return [(r["text"], r["label"]) for r in rows if r["label"] in ("negative", "neutral", "positive")]


def _rated(path: Path) -> list[Example]:
    rows = csv.DictReader(path.open(encoding="utf-8", newline=""))
    return [(r["review"], "positive" if int(r["rating"]) >= 6 else "negative") for r in rows]


def hannes(d: Path) -> list[Example]:
    return _rated(d / "icelandic_movie_reviews/Hannes-Movie-Reviews-no-noise.csv")


def kvikmyndaryni(d: Path) -> list[Example]:
    return _rated(d / "icelandic_movie_reviews/kvikmyndaryni-reviews.csv")


# (name, loader, labels scored, prediction kind, language)
SETS: list[tuple[str, Callable[[Path], list[Example]], list[str], str, str]] = [
    ("airline (en, 3-class)", airline, ["negative", "neutral", "positive"], "sentiment", "en"),
    ("TweetEval test (en, 3-class)", tweeteval, ["negative", "neutral", "positive"], "sentiment", "en"),
    ("complaints (en, complaint vs not)", complaints, ["complaint", "not"], "complaint", "en"),
    ("DeepSentiPers test (fa, 3-class)", deepsentipers, ["negative", "neutral", "positive"], "sentiment", "fa"),
    ("ParsiNLU food+movie (fa, 3-class)", parsinlu, ["negative", "neutral", "positive"], "sentiment", "fa"),
    ("RuSentiTweet test (ru, 3-class)", rusentitweet, ["negative", "neutral", "positive"], "sentiment", "ru"),
    ("Hannes reviews (is, binary)", hannes, ["negative", "positive"], "sentiment", "is"),
    ("kvikmyndaryni reviews (is, binary)", kvikmyndaryni, ["negative", "positive"], "sentiment", "is"),
]


def _mention(i: int, text: str) -> Mention:
    return Mention(post=Post(source_id="bench", platform="bench", id=str(i), text=text), brand="x",
                   competitor=False, matches=())


def _predict(clf: Triage, examples: list[Example], kind: str) -> tuple[list[str], list[str], float]:
    preds, langs = [], []
    start = time.perf_counter()
    for i, (text, _) in enumerate(examples):
        a = clf.assess(_mention(i, text))
        langs.append(a.language)
        if kind == "complaint":
            preds.append("complaint" if a.category in ("complaint", "outage") else "not")
        else:
            preds.append(a.sentiment)
    return preds, langs, len(examples) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--limit", type=int, default=0, help="first N posts of each set (0 = all)")
    parser.add_argument("--model", default="shipped", help="shipped (default), lexicon, or a model file")
    args = parser.parse_args()
    clf = Triage(TriageSettings(model=args.model), model=load_triage_model(args.model))
    print(f"judged by {clf.judged_by}")
    clf.assess(_mention(0, "warm-up: loads the language model"))
    print(f"{'set':38} {'n':>6} {'macro-F1':>8} {'acc':>6} {'lang ok':>7} {'posts/s':>8}  predicted")
    for name, loader, labels, kind, lang in SETS:
        try:
            examples = loader(args.data)
        except FileNotFoundError:
            print(f"{name:38} skipped (absent)")
            continue
        if args.limit:
            examples = examples[: args.limit]
        gold = [g for _, g in examples]
        preds, langs, rate = _predict(clf, examples, kind)
        acc = sum(g == p for g, p in zip(gold, preds)) / len(gold)
        lang_ok = sum(lg == lang for lg in langs) / len(langs)
        dist = ", ".join(f"{k} {v}" for k, v in sorted(Counter(preds).items()))
        print(f"{name:38} {len(gold):>6} {macro_f1(gold, preds, labels):>8.3f} {acc:>6.3f} {lang_ok:>7.3f} "
              f"{rate:>8.0f}  {dist}")
        if name.startswith("TweetEval"):
            print(f"{'  (official metric: macro-recall)':38} {'':>6} {macro_recall(gold, preds, labels):>8.3f}")
    _language_id(clf, args.data)
    return 0


def _language_id(clf: Triage, data: Path) -> None:
    """1,000 posts per language, as in reference/classifier.md §3; posts with < 10 letters count as wrong."""
    samples = [("en", airline), ("fa", deepsentipers), ("ru", rusentitweet), ("is", hannes)]
    for lang, loader in samples:
        try:
            texts = [t for t, _ in loader(data)][:1000]
        except FileNotFoundError:
            continue
        start = time.perf_counter()
        got = [clf.assess(_mention(i, t)).language for i, t in enumerate(texts)]
        rate = len(texts) / (time.perf_counter() - start)
        ok = sum(g == lang for g in got) / len(got)
        other = sum(g == "other" for g in got)
        print(f"language ID {lang}: accuracy {ok:.3f} over {len(texts)} ({other} 'other'), {rate:.0f} posts/s")


if __name__ == "__main__":
    raise SystemExit(main())
