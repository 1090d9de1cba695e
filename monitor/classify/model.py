"""The learned triage model: linear heads over hashed n-gram features (features.py), trained by train.py.

One weight matrix (buckets × all heads' classes, int8 with a scale per column) ships in the package as
model/triage.npz; predicting a post is a row gather and a sum, so numpy is the only run-time need.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .features import extra_ids, text_ids
from .language import SUPPORTED, UKRAINIAN_ONLY
from .sentiment import Signals, analyze

HEADS = ("language", "sentiment", "issue", "urgent")
SHIPPED = Path(__file__).parent / "model" / "triage.npz"


@dataclass(frozen=True, slots=True)
class Prediction:
    sentiment: str
    sentiment_score: float  # P(positive) - P(negative), in [-1, 1]
    issue: str
    issue_probability: float
    urgent: bool
    urgent_probability: float


def lexicon_tokens(signals: Signals) -> tuple[str, ...]:
    """The lexicon's verdict as extra features for the model (stacking)."""
    return (f"lex:{signals.label}", f"lex:s{round(signals.score * 4)}", *(f"lex:t:{t}" for t in sorted(signals.tags)))


def lexicon_features(text: str, lang: str) -> tuple[str, ...]:
    return lexicon_tokens(analyze(text, lang if lang in SUPPORTED else "en"))


class TriageModel:
    def __init__(self, weights: np.ndarray, bias: np.ndarray, meta: dict) -> None:
        self.weights, self.bias, self.meta = weights, bias, meta
        self.scale = np.asarray(meta.get("scale", np.ones(weights.shape[1])), dtype=np.float32)
        self.buckets = int(meta["buckets"])
        self.uses_lexicon = bool(meta["lexicon"])
        self.urgent_threshold = float(meta["urgent_threshold"])
        self.urgent_stack: dict | None = meta.get("urgent_stack")  # urgency from the other heads' probabilities
        self.columns: dict[str, slice] = {}
        start = 0
        for head in HEADS:
            n = len(meta["labels"][head])
            self.columns[head] = slice(start, start + n)
            start += n
        self.labels = meta["labels"]
        self._last: tuple = (None, frozenset(), None)  # (text, its ids, their row sum)

    def _logits(self, text: str, extra: Sequence[str] = ()) -> np.ndarray:
        """Every head's logits (slice by self.columns). The text's row sum is kept for the next call: the language
        head and the others score the same masked text one after the other."""
        if self._last[0] != text:
            ids = text_ids(text, self.buckets)
            self._last = (text, ids, self.weights[list(ids)].sum(axis=0, dtype=np.int32))
        _, ids, total = self._last
        more = list(extra_ids(extra, self.buckets) - ids)
        if more:
            total = total + self.weights[more].sum(axis=0, dtype=np.int32)
        n = len(ids) + len(more)
        if not n:
            return self.bias.copy()
        return total.astype(np.float32) * self.scale / np.sqrt(n) + self.bias

    def language(self, text: str) -> str:
        """A language code: en, fa, ru, is, or another language's (de, ar, uk…) when the model knows it."""
        logits = self._logits(text)[self.columns["language"]]
        code = self.labels["language"][int(np.argmax(logits))]
        return "uk" if code == "ru" and UKRAINIAN_ONLY.search(text) else code

    def predict(self, text: str, lang: str, signals: Signals | None = None) -> Prediction:
        """`text` has its brand masked (features.mask_spans); `signals` is the lexicon's reading, if at hand."""
        extra: tuple[str, ...] = ()
        if self.uses_lexicon:
            extra = lexicon_tokens(signals) if signals else lexicon_features(text, lang)
        logits = self._logits(text, extra)
        sent = _softmax(logits[self.columns["sentiment"]])
        issue = _softmax(logits[self.columns["issue"]])
        urgent = _sigmoid(logits[self.columns["urgent"]][0])
        if self.urgent_stack:
            inputs = np.concatenate([issue, sent, [urgent]])
            urgent = _sigmoid(float(np.dot(self.urgent_stack["coef"], inputs)) + self.urgent_stack["intercept"])
        s_labels = self.labels["sentiment"]
        score = float(sent[s_labels.index("positive")] - sent[s_labels.index("negative")])
        best = int(np.argmax(issue))
        return Prediction(sentiment=s_labels[int(np.argmax(sent))], sentiment_score=round(score, 4),
                          issue=self.labels["issue"][best], issue_probability=round(float(issue[best]), 3),
                          urgent=urgent >= self.urgent_threshold, urgent_probability=round(urgent, 3))


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def save_model(path: Path, *, weights: np.ndarray, bias: np.ndarray, meta: dict) -> None:
    """int8 weights with a scale per column: a quarter of float32's size, the same decisions in practice."""
    scale = np.maximum(np.abs(weights).max(axis=0), 1e-9) / 127.0
    quantized = np.round(weights / scale).astype(np.int8)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "scale": scale.tolist()}
    with path.open("wb") as fh:
        np.savez_compressed(fh, weights=quantized, bias=bias, meta=np.array(json.dumps(meta)))


@lru_cache(maxsize=4)
def load_model(path: Path = SHIPPED) -> TriageModel:
    """Raises OSError or ValueError when the file is missing or not a model of this version."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        return TriageModel(data["weights"], data["bias"], meta)
