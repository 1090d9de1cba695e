"""Category from the sentiment signals: outage > complaint > question/request > praise > other."""
from __future__ import annotations

from ..models import Category
from .sentiment import Signals

_OUTAGE_MAX_SCORE = 0.5  # "back up now, thanks!" mentions an outage but is not one


def categorize(signals: Signals) -> tuple[Category, str]:
    """The category and the reason for it."""
    tags, score = signals.tags, signals.score
    if "outage" in tags and score < _OUTAGE_MAX_SCORE:
        return "outage", "outage/technical wording"
    if signals.label == "negative":
        return "complaint", "negative tone"
    if tags & {"complaint", "risk"} and score < _OUTAGE_MAX_SCORE:
        return "complaint", "complaint phrasing"
    if tags & {"question", "request"} and signals.label != "positive":
        return "question", "question or request"
    if signals.label == "positive":
        return "praise", "positive tone"
    if tags & {"question", "request"}:
        return "question", "question or request"
    return "other", "no complaint, question or praise found"
