"""The in-house corpus's test split, language ID, speed and footprint of triage (model and lexicon fallback).

    taskset -c 0 .venv/bin/python bench/bench_triage.py [--corpus corpus] [--split test] [--replay-posts 20000]

Prints per language: sentiment macro-F1, issue-type macro-F1, urgent accuracy, language-ID accuracy (and for
posts in other languages, the share identified as "other"), each against its goal; then model load time,
resident memory growth, triage mentions/s on one core and `replay` posts/s with 10 % of posts mentioning a
brand. Everything runs through Triage.assess / the replay pipeline, the code the daemon runs. The public sets are
bench_classify.py's.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the goal is stated
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_sources import status_mb  # noqa: E402

from monitor.classify import Triage, TriageSettings  # noqa: E402
from monitor.classify.corpus import Row, load_corpus, mention_of, score  # noqa: E402
from monitor.classify.language import SUPPORTED  # noqa: E402


def print_scores(title: str, scores: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'lang':6} {'posts':>5} {'sentiment':>9} {'issue':>6} {'urgent':>6} {'lang ID':>7}")
    for lang in (*SUPPORTED, "other"):
        if lang in scores:
            m = scores[lang]
            cells = [f"{m[k]:>{w}.3f}" if k in m else f"{'-':>{w}}" for k, w in
                     (("sentiment", 9), ("issue", 6), ("urgent", 6), ("language", 7))]
            print(f"  {lang:6} {int(m['n']):>5} " + " ".join(cells))


# issue "Triage that generalises": macro-F1 per language, urgent accuracy over en/fa/ru/is, language ID
GOALS = {"sentiment": 0.80, "issue": 0.80, "language": 0.97}
URGENT_GOAL, OTHER_LANGUAGE_GOAL = 0.90, 0.95


def print_goals(scores: dict[str, dict[str, float]]) -> None:
    """Each figure against its goal, so that a run says plainly which are met."""
    def verdict(value: float, goal: float, digits: int = 3) -> str:
        return f"{value:.{digits}f} {'met' if value >= goal else 'MISSED'}"

    print("goals: sentiment and issue >= 0.80, language ID >= 0.97 per language; urgent >= 0.90; other >= 0.95")
    for lang in SUPPORTED:
        if lang in scores:
            print(f"  {lang:6} " + ", ".join(f"{metric} {verdict(scores[lang][metric], goal)}"
                                            for metric, goal in GOALS.items() if metric in scores[lang]))
    urgent = [scores[lang]["urgent"] for lang in SUPPORTED if "urgent" in scores.get(lang, {})]
    if urgent:
        mean = sum(urgent) / len(urgent)
        print(f"  urgent over {len(urgent)} languages {verdict(mean, URGENT_GOAL, 4)}")
    if "other" in scores:
        print(f"  other languages answered 'other' {verdict(scores['other']['language'], OTHER_LANGUAGE_GOAL)}")


def cold_load_seconds() -> float:
    """Importing numpy and reading the shipped model in a fresh interpreter, as the daemon does at start."""
    code = ("import time; t = time.perf_counter(); from monitor.classify import load_triage_model; "
            "assert load_triage_model('shipped') is not None; print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout)


def footprint(rows: list[Row]) -> Triage:
    """Model load time and the resident memory it adds over the lexicon-only triage (both warmed up)."""
    print(f"\nmodel load in a fresh process: {cold_load_seconds():.2f} s (import numpy, read the weights; "
          "goal <= 3 s)")
    lexicon = Triage()
    for i, row in enumerate(rows[:200]):
        lexicon.assess(mention_of(i, row))
    before = status_mb("self", "VmRSS")
    started = time.perf_counter()
    from monitor.classify import load_triage_model
    model = load_triage_model("shipped")
    loaded = time.perf_counter() - started
    if model is None:
        raise SystemExit("the shipped model did not load (see the warning above)")
    triage = Triage(model=model)
    for i, row in enumerate(rows):
        triage.assess(mention_of(i, row))
    after = status_mb("self", "VmRSS")
    print(f"model load here {loaded:.2f} s ({model.weights.nbytes / 1e6:.1f} MB of int8 weights); resident memory "
          f"{before:.0f} -> {after:.0f} MB (+{after - before:.0f} MB; goal <= +150) after triaging {len(rows)} posts")
    return triage


def speed(triage: Triage, rows: list[Row], label: str, goal: str = "") -> None:
    mentions = [mention_of(i, r) for i, r in enumerate(rows)]
    started = time.perf_counter()
    for m in mentions:
        triage.assess(m)
    rate = len(mentions) / (time.perf_counter() - started)
    print(f"triage ({label}): {rate:,.0f} mentions/s on one core over {len(mentions)} posts{goal}")


def replay_speed(rows: list[Row], total: int) -> None:
    """The replay pipeline over `total` posts, 10 % of them naming one of the corpus's brands."""
    from monitor.app import build_pipeline
    from monitor.cli import ReplayLine, replay_result
    from monitor.settings import Settings

    rng = random.Random(7)
    named = [r for r in rows if r.brand and len(r.brand) >= 4 and r.lang in SUPPORTED]
    brands = sorted({r.brand for r in named})[:50]
    mentioning = [r for r in named if r.brand in brands]
    plain = [r.text.replace(r.brand, "") for r in rows if r.brand]
    lines = [ReplayLine(id=i, text=rng.choice(mentioning).text if i % 10 == 0 else rng.choice(plain))
             for i in range(total)]
    settings = Settings.model_validate({"brands": [{"name": b} for b in brands]})
    pipeline = build_pipeline(settings)
    started = time.perf_counter()
    matched = 0
    for line in lines:
        result = replay_result(pipeline, line)
        matched += result["matched"]
        json.dumps(result, ensure_ascii=False)
    elapsed = time.perf_counter() - started
    print(f"replay: {total / elapsed:,.0f} posts/s over {total} posts ({matched} matched, {len(brands)} brands; "
          "goal >= 2,000)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--split", default="test", choices=("train", "dev", "test"))
    parser.add_argument("--replay-posts", type=int, default=20_000)
    args = parser.parse_args()
    rows = [r for r in load_corpus(args.corpus) if r.split == args.split]
    print(f"{args.split} split of {args.corpus}: {len(rows)} posts; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    triage = footprint(rows)
    scores = score(triage, rows)
    print_scores("model (shipped)", scores)
    print_goals(scores)
    print_scores("lexicon (the fallback)", score(Triage(TriageSettings(model="lexicon")), rows))
    speed(triage, rows, "model", " (goal >= 100)")
    speed(Triage(), rows, "lexicon")
    replay_speed(rows, args.replay_posts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
