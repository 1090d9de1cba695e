"""Severity as a pure function: points from issue type, tone, reach, velocity, author history and source.

    points = (issue + tone + reach + engagement + velocity + history) × source weight
    critical ≥ thresholds.critical > high ≥ … ; an urgent post is at least `urgent_at_least`;
    praise stays low; competitor mentions stop at medium.
"""
from __future__ import annotations

from ..models import SEVERITIES, Issue, Severity
from ..settings import SeverityThresholds, TriageSettings


def _steps(value: float, cutoffs: tuple[float, ...], *, downward: bool = False) -> int:
    return sum(1 for c in cutoffs if (value <= c if downward else value >= c))


def severity(*, issue: Issue, sentiment_score: float, urgent: bool = False, followers: int | None = 0,
             likes: int = 0, reposts: int = 0, replies: int = 0, velocity: int = 0, author_complaints: int = 0,
             source: str = "", platform: str = "", competitor: bool = False,
             settings: TriageSettings | None = None) -> tuple[Severity, tuple[str, ...]]:
    """Severity and the reasons that produced it; pure, so the tests are a table."""
    s = settings or TriageSettings()
    points = s.issue_points.get(issue, 0.0)
    reasons = [f"issue {issue} +{points:g}"]
    parts = [
        (_steps(sentiment_score, s.negative_cutoffs, downward=True), f"tone {sentiment_score:+.2f}"),
        (_steps(followers or 0, s.followers_cutoffs), f"reach {followers or 0} followers"),
        (_steps(likes + 2 * reposts + replies, s.engagement_cutoffs),
         f"engagement {likes} likes/{reposts} reposts/{replies} replies"),
        (_steps(velocity, s.velocity_cutoffs), f"{velocity} negative reports lately"),
        (_steps(author_complaints, s.history_cutoffs), f"author complained {author_complaints}× before"),
    ]
    for add, why in parts:
        if add:
            points += add
            reasons.append(f"{why} +{add}")
    weight = s.source_weights.get(source, s.source_weights.get(platform, 1.0))
    if weight != 1.0:
        points *= weight
        reasons.append(f"source weight ×{weight:g}")
    level = _level(points, s.thresholds)
    if urgent and SEVERITIES.index(level) > SEVERITIES.index(s.urgent_at_least):
        level = s.urgent_at_least
        reasons.append(f"urgent: at least {level}")
    if issue == "praise" and level != "low":
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
