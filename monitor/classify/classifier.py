"""Mention -> Assessment (language, sentiment, category, issue type, urgency, severity with reasons).

The Classifier protocol is what the pipeline depends on. `Triage` judges with the learned model shipped in the
package (model.py) when it loads, and with the hand-written lexicons otherwise; the lexicon's words and phrases
are the "why" of every assessment either way, and `judged_by` says which one decided.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog

from ..models import Assessment, Category, Issue, Mention
from .category import categorize
from .features import mask_spans
from .language import LANGUAGE_NAMES, MIN_LETTERS, SUPPORTED, detect_language
from .sentiment import Signals, analyze
from .severity import TriageSettings, severity
from .text import has_letters, normalize, strip_handles

if TYPE_CHECKING:
    from .model import TriageModel

MAX_TEXT = 5_000
log = structlog.get_logger()

_ISSUE_CATEGORY: dict[str, Category] = {"outage": "outage", "question": "question", "praise": "praise",
                                        "news": "other", "other": "other"}  # every other issue is a complaint
_TAG_ISSUE: tuple[tuple[str, Issue], ...] = (("risk", "security_fraud"), ("outage", "outage"),
                                             ("complaint", "product_quality"), ("question", "question"),
                                             ("request", "question"), ("praise", "praise"))


class Classifier(Protocol):
    def assess(self, mention: Mention, *, velocity: int = 0, author_complaints: int = 0) -> Assessment: ...


def load_triage_model(choice: str) -> TriageModel | None:
    """The model named by `triage.model` ("shipped", "lexicon" or a path); None means the lexicon judges."""
    if choice == "lexicon":
        return None
    try:
        from .model import SHIPPED, load_model  # noqa: PLC0415 - numpy may be missing: then the lexicon judges
        return load_model(SHIPPED if choice == "shipped" else Path(choice))
    except (ImportError, OSError, ValueError, KeyError) as exc:
        log.warning("triage_model_unavailable", model=choice, reason=f"{type(exc).__name__}: {exc}"[:300],
                    fallback="lexicon")
        return None


class Triage:
    def __init__(self, settings: TriageSettings | None = None, languages: Iterable[str] = SUPPORTED,
                 model: TriageModel | None = None) -> None:
        self.settings = settings or TriageSettings()
        self.languages = tuple(lang for lang in languages if lang in SUPPORTED) or SUPPORTED
        self.model = model
        self.judged_by = f"model {model.meta.get('corpus_sha256', '')}".strip() if model else "lexicon"

    def language(self, mention: Mention, text: str, masked: str) -> tuple[str, str]:
        """(en/fa/ru/is/other, the detected language's code when it is another one). Below MIN_LETTERS only
        the script (or the source's language tag) decides: a statistical guess on "ok!!" is noise."""
        if self.model is not None and has_letters(strip_handles(normalize(text)), MIN_LETTERS):
            code = self.model.language(masked)
            lang = code if code in self.languages else "other"
            if lang != "other" or code not in SUPPORTED:
                return lang, "" if lang != "other" else code
        else:
            lang, code = detect_language(text, self.languages), ""
        hint = (mention.post.lang_hint or "").split("-")[0].lower()
        # a source's own language tag decides only when the text does not
        return (hint, "") if lang == "other" and not code and hint in self.languages else (lang, code)

    def assess(self, mention: Mention, *, velocity: int = 0, author_complaints: int = 0) -> Assessment:
        """`velocity` (similar posts in the incident window) and `author_complaints` come from the store."""
        text = _text(mention)
        masked = mask_spans(text, ((m.start, m.end) for m in mention.matches if m.end <= MAX_TEXT))
        lang, other_code = self.language(mention, text, masked)
        signals = analyze(text, lang if lang in SUPPORTED else "en",
                          positive_at=self.settings.positive_at, negative_at=self.settings.negative_at)
        if self.model is not None:
            p = self.model.predict(masked, lang, signals)
            sentiment, score, issue, urgent = p.sentiment, p.sentiment_score, p.issue, p.urgent
            category = _category(issue, sentiment)
            why = (f"model: {issue} {p.issue_probability:.0%}, urgent {p.urgent_probability:.0%}",)
        else:
            sentiment, score = signals.label, signals.score
            category, reason = categorize(signals)
            issue = _issue_from_tags(signals)
            urgent = False
            why = (reason,)
        post = mention.post
        level, sev_reasons = severity(
            issue=issue, urgent=urgent, sentiment_score=score, followers=post.author.followers,
            likes=post.engagement.likes, reposts=post.engagement.reposts, replies=post.engagement.replies,
            velocity=velocity, author_complaints=author_complaints, source=post.source_id, platform=post.platform,
            competitor=mention.competitor, settings=self.settings)
        if self.model is None:
            urgent = level in ("critical", "high") and not mention.competitor
        language_note = f"language {lang}" + (f" ({LANGUAGE_NAMES.get(other_code, other_code)})" if other_code else "")
        reasons = (language_note, f"sentiment {sentiment} {score:+.2f}", *why, *signals.reasons, *sev_reasons)
        return Assessment(language=lang, sentiment=sentiment, sentiment_score=score, category=category,
                          severity=level, reasons=tuple(r[:120] for r in reasons), issue=issue, urgent=urgent,
                          judged_by=self.judged_by)


def _category(issue: str, sentiment: str) -> Category:
    if issue in _ISSUE_CATEGORY:
        return _ISSUE_CATEGORY[issue]
    return "praise" if sentiment == "positive" else "complaint"


def _issue_from_tags(signals: Signals) -> Issue:
    """The lexicon's coarse guess: its tags know outages, complaints, risk words, questions and praise."""
    for tag, issue in _TAG_ISSUE:
        if tag in signals.tags:
            return issue
    return "product_quality" if signals.label == "negative" else "praise" if signals.label == "positive" else "other"


def _text(mention: Mention) -> str:
    post = mention.post
    return (f"{post.title}\n{post.text}" if post.title else post.text)[:MAX_TEXT]
