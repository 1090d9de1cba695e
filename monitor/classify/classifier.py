"""Mention -> Assessment (language, sentiment, category, severity with reasons).

The Classifier protocol is what the pipeline depends on; RuleClassifier is the offline default: language by
script and frequent words, hand-written lexicons and phrase rules, and a pure severity function.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..models import Assessment, Mention
from .category import categorize
from .language import SUPPORTED, detect_language
from .sentiment import analyze
from .severity import TriageSettings, severity

MAX_TEXT = 5_000


class Classifier(Protocol):
    def assess(self, mention: Mention, *, velocity: int = 0, author_complaints: int = 0) -> Assessment: ...


class RuleClassifier:
    """Offline and explainable: every label comes with the reasons that produced it."""

    def __init__(self, settings: TriageSettings | None = None, languages: Iterable[str] = SUPPORTED) -> None:
        self.settings = settings or TriageSettings()
        self.languages = tuple(lang for lang in languages if lang in SUPPORTED) or SUPPORTED

    def language(self, mention: Mention) -> str:
        post = mention.post
        lang = detect_language(_text(mention), self.languages)
        hint = (post.lang_hint or "").split("-")[0].lower()
        # a source's own language tag only decides when the text is too short to judge
        return hint if lang == "other" and hint in self.languages else lang

    def assess(self, mention: Mention, *, velocity: int = 0, author_complaints: int = 0) -> Assessment:
        """`velocity` (similar posts in the incident window) and `author_complaints` come from the store."""
        text = _text(mention)
        lang = self.language(mention)
        signals = analyze(text, lang, positive_at=self.settings.positive_at, negative_at=self.settings.negative_at)
        category, why = categorize(signals)
        post = mention.post
        level, sev_reasons = severity(
            category=category, sentiment_score=signals.score, followers=post.author.followers,
            likes=post.engagement.likes, reposts=post.engagement.reposts, replies=post.engagement.replies,
            velocity=velocity, author_complaints=author_complaints, risk="risk" in signals.tags,
            source=post.source_id, platform=post.platform, competitor=mention.competitor, settings=self.settings)
        reasons = (f"language {lang}", f"sentiment {signals.label} {signals.score:+.2f}", why,
                   *signals.reasons, *sev_reasons)
        return Assessment(language=lang, sentiment=signals.label, sentiment_score=signals.score,
                          category=category, severity=level, reasons=tuple(r[:120] for r in reasons))


def _text(mention: Mention) -> str:
    post = mention.post
    return (f"{post.title}\n{post.text}" if post.title else post.text)[:MAX_TEXT]
