"""Severity as a pure function: points from category, tone, reach, velocity, author history and source.

    points = (category + tone + reach + velocity + history + risk) × source weight
    critical ≥ thresholds.critical > high ≥ … ; praise stays low; competitor mentions stop at medium.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from ..models import Category, Severity
from ..settings import Strict

_CATEGORY_POINTS: dict[str, float] = {"outage": 4.0, "complaint": 2.0, "question": 2.0, "praise": 0.0, "other": 0.0}


_REPLY_KEY = re.compile(r"(?:en|fa|ru|is)\.(?:outage|complaint|question|praise|other)"
                        r"(?:\.(?:formal|informal))?(?:\.(?:short|long))?")


class SeverityThresholds(Strict):
    critical: float = 7.0
    high: float = 4.0
    medium: float = 2.0


class TriageSettings(Strict):
    """Tunable weights (YAML `triage:`). Defaults are hand-set, not fitted on any data set."""
    category_points: dict[Category, float] = Field(default_factory=lambda: dict(_CATEGORY_POINTS))
    # negative score at or below each cut-off adds one point: -0.35 → +1, -0.75 → +2
    negative_cutoffs: tuple[float, ...] = (-0.35, -0.75)
    followers_cutoffs: tuple[int, ...] = (10_000, 100_000)
    engagement_cutoffs: tuple[int, ...] = (50, 500)  # likes + 2×reposts + replies
    velocity_cutoffs: tuple[int, ...] = (3, 10, 30)  # similar posts in the incident window
    history_cutoffs: tuple[int, ...] = (2, 5)  # the author's earlier complaints
    risk_points: float = 2.0  # legal threats, fraud, safety, data leaks
    source_weights: dict[str, float] = Field(default_factory=dict)  # by source id or platform; default 1.0
    thresholds: SeverityThresholds = Field(default_factory=SeverityThresholds)
    positive_at: float = Field(default=0.25, gt=0, le=1)
    negative_at: float = Field(default=-0.15, ge=-1, lt=0)

    # drafted-reply templates, keys "lang.category[.formal|informal][.short|long]" (see reply.py)
    replies: dict[str, str] = Field(default_factory=dict)

    @field_validator("replies")
    @classmethod
    def _reply_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _REPLY_KEY.fullmatch(key):
                raise ValueError(f"reply template key {key!r}: expected lang.category[.register][.length], "
                                 "e.g. 'en.complaint' or 'ru.outage.formal.long'")
        return value

    @field_validator("category_points", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        """`category_points: {question: 0}` changes one category, not all five."""
        return {**_CATEGORY_POINTS, **value} if isinstance(value, dict) else value


def _steps(value: float, cutoffs: tuple[float, ...], *, downward: bool = False) -> int:
    return sum(1 for c in cutoffs if (value <= c if downward else value >= c))


def severity(*, category: Category, sentiment_score: float, followers: int | None = 0, likes: int = 0,
             reposts: int = 0, replies: int = 0, velocity: int = 0, author_complaints: int = 0,
             risk: bool = False, source: str = "", platform: str = "", competitor: bool = False,
             settings: TriageSettings | None = None) -> tuple[Severity, tuple[str, ...]]:
    """Severity and the reasons that produced it; pure, so the tests are a table."""
    s = settings or TriageSettings()
    points = s.category_points.get(category, 0.0)
    reasons = [f"category {category} +{points:g}"]
    parts = [
        (_steps(sentiment_score, s.negative_cutoffs, downward=True), f"tone {sentiment_score:+.2f}"),
        (_steps(followers or 0, s.followers_cutoffs), f"reach {followers or 0} followers"),
        (_steps(likes + 2 * reposts + replies, s.engagement_cutoffs), f"engagement {likes} likes/{reposts} reposts/{replies} replies"),
        (_steps(velocity, s.velocity_cutoffs), f"{velocity} similar posts together"),
        (_steps(author_complaints, s.history_cutoffs), f"author complained {author_complaints}× before"),
    ]
    for add, why in parts:
        if add:
            points += add
            reasons.append(f"{why} +{add}")
    if risk:
        points += s.risk_points
        reasons.append(f"legal/safety/fraud wording +{s.risk_points:g}")
    weight = s.source_weights.get(source, s.source_weights.get(platform, 1.0))
    if weight != 1.0:
        points *= weight
        reasons.append(f"source weight ×{weight:g}")
    level = _level(points, s.thresholds)
    if category == "praise" and level != "low":
        level = "low"
        reasons.append("praise is never urgent")
    if competitor and level in ("critical", "high"):
        level = "medium"
        reasons.append("competitor mention, capped at medium")
    reasons.append(f"{points:g} points → {level}")
    return level, tuple(reasons)


def _level(points: float, t: SeverityThresholds) -> Severity:
    if points >= t.critical:
        return "critical"
    if points >= t.high:
        return "high"
    return "medium" if points >= t.medium else "low"
