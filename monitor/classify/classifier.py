"""Mention -> Assessment (language, sentiment, category, severity with reasons).

v0: small keyword rules in en/fa/ru/is. The Classifier protocol is what the pipeline depends on.
"""
from __future__ import annotations

import re
from typing import Protocol

from ..models import Assessment, Category, Mention, Sentiment, Severity


class Classifier(Protocol):
    def assess(self, mention: Mention) -> Assessment: ...


_NEGATIVE = re.compile(
    r"\b(?:bad|worst|terrible|awful|broken|down|outage|fail\w*|error|scam|refund|angry|useless|hate|"
    r"never again|still waiting|charged twice|third time|not working|doesn'?t work|can'?t log)\b"
    r"|ужас\w*|плох\w*|не работает|сбой|ошибк\w*|ещё жду|еще жду|верните"
    r"|ekki|bilun|hræðileg\w*|lélega?\w*|enn að bíða"
    r"|خراب|قطع|افتضاح|بد|مشکل|هنوز منتظرم", re.I)
_POSITIVE = re.compile(
    r"\b(?:thanks?|thank you|great|love|awesome|excellent|amazing|best|happy|fast)\b"
    r"|спасибо|отличн\w*|супер|люблю|takk|frábær\w*|æðisleg\w*|ممنون|عالی|مرسی|خوب", re.I)
_OUTAGE = re.compile(
    r"\b(?:down|outage|not working|doesn'?t work|broken|crash\w*|error|can'?t (?:log|connect|access)|offline)\b"
    r"|не работает|сбой|упал|ошибк\w*|liggur niðri|virkar ekki|bilun|قطع|کار نمی‌کند|خراب", re.I)
_QUESTION = re.compile(r"\?|\b(?:how do i|how can i|can you|please help|anyone know)\b|как |hvernig|چطور|چگونه", re.I)
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF]")
_ICELANDIC = re.compile(r"[ðþæÐÞÆ]|\b(?:og|ekki|að|er)\b", re.I)


def detect_language(text: str) -> str:
    if _ARABIC_SCRIPT.search(text):
        return "fa"
    if _CYRILLIC.search(text):
        return "ru"
    if _ICELANDIC.search(text):
        return "is"
    return "en" if re.search(r"[A-Za-z]", text) else "other"


class RuleClassifier:
    def assess(self, mention: Mention) -> Assessment:
        text = f"{mention.post.title}\n{mention.post.text}"
        neg, pos = len(_NEGATIVE.findall(text)), len(_POSITIVE.findall(text))
        score = max(-1.0, min(1.0, (pos - neg) / 2))
        sentiment: Sentiment = "negative" if score < 0 else "positive" if score > 0 else "neutral"
        category = self._category(text, sentiment)
        severity, reasons = self._severity(mention, sentiment, category)
        return Assessment(language=detect_language(text), sentiment=sentiment, sentiment_score=score,
                          category=category, severity=severity, reasons=reasons)

    @staticmethod
    def _category(text: str, sentiment: Sentiment) -> Category:
        if _OUTAGE.search(text):
            return "outage"
        if sentiment == "negative":
            return "complaint"
        if _QUESTION.search(text):
            return "question"
        return "praise" if sentiment == "positive" else "other"

    @staticmethod
    def _severity(mention: Mention, sentiment: Sentiment, category: Category) -> tuple[Severity, tuple[str, ...]]:
        reasons = [f"category {category}", f"sentiment {sentiment}"]
        severity: Severity = {"outage": "high", "complaint": "high", "question": "medium"}.get(category, "low")
        followers = mention.post.author.followers or 0
        if severity == "high" and followers >= 10_000:
            severity = "critical"
            reasons.append(f"author reach {followers} followers")
        if mention.competitor and severity in ("critical", "high"):
            severity = "medium"
            reasons.append("competitor mention, capped at medium")
        return severity, tuple(reasons)
