"""Severity is a pure function: a table of inputs and the level they must produce."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.classify import RuleClassifier, TriageSettings, severity
from monitor.classify.severity import SeverityThresholds
from tests.classify.builders import mention

# category, score, followers, likes, reposts, velocity, history, risk, competitor, expected
TABLE = [
    ("other", 0.0, 0, 0, 0, 0, 0, False, False, "low"),
    ("praise", 0.9, 5_000_000, 9_000, 900, 50, 9, False, False, "low"),
    ("question", 0.0, 0, 0, 0, 0, 0, False, False, "medium"),
    ("complaint", -0.2, 0, 0, 0, 0, 0, False, False, "medium"),
    ("complaint", -0.5, 0, 0, 0, 0, 0, False, False, "medium"),
    ("complaint", -0.8, 0, 0, 0, 0, 0, False, False, "high"),
    ("complaint", -0.5, 20_000, 0, 0, 0, 0, False, False, "high"),
    ("complaint", -0.5, 0, 0, 0, 0, 2, False, False, "high"),
    ("complaint", -0.2, 0, 0, 0, 0, 0, True, False, "high"),
    ("complaint", -0.8, 200_000, 0, 0, 0, 0, False, False, "high"),
    ("complaint", -0.8, 200_000, 60, 0, 0, 0, False, False, "critical"),
    ("complaint", -0.8, 200_000, 0, 0, 0, 0, False, True, "medium"),
    ("outage", 0.0, 0, 0, 0, 0, 0, False, False, "high"),
    ("outage", -0.5, 0, 60, 0, 0, 0, False, False, "high"),
    ("outage", -0.5, 0, 0, 0, 3, 0, False, False, "high"),
    ("outage", -0.5, 0, 0, 0, 10, 0, False, False, "critical"),
    ("outage", -0.5, 0, 400, 100, 0, 0, False, False, "critical"),
    ("outage", -0.9, 0, 0, 0, 30, 0, False, True, "medium"),
    ("other", -0.9, 0, 0, 0, 0, 0, False, False, "medium"),
]


@pytest.mark.parametrize(("category", "score", "followers", "likes", "reposts", "velocity", "history", "risk",
                          "competitor", "expected"), TABLE)
def test_severity_table(category, score, followers, likes, reposts, velocity, history, risk, competitor,
                        expected) -> None:
    level, reasons = severity(category=category, sentiment_score=score, followers=followers, likes=likes,
                              reposts=reposts, velocity=velocity, author_complaints=history, risk=risk,
                              competitor=competitor)
    assert level == expected, reasons
    assert reasons[0].startswith(f"category {category}") and reasons[-1].endswith(f"→ {level}")


def test_reasons_name_each_contribution() -> None:
    _, reasons = severity(category="complaint", sentiment_score=-0.9, followers=150_000, likes=600,
                          velocity=4, author_complaints=6, risk=True)
    text = " | ".join(reasons)
    for part in ("tone -0.90 +2", "reach 150000 followers +2", "engagement 600 likes", "4 negative reports lately",
                 "complained 6× before +2", "legal/safety/fraud"):
        assert part in text


def test_source_weight_by_source_id_then_platform() -> None:
    s = TriageSettings(source_weights={"hn": 0.5, "reddit": 2.0})
    assert severity(category="outage", sentiment_score=0, source="hn", platform="reddit", settings=s)[0] == "medium"
    assert severity(category="complaint", sentiment_score=-0.8, platform="reddit", settings=s)[0] == "critical"
    assert severity(category="complaint", sentiment_score=-0.8, platform="other", settings=s)[0] == "high"


def test_settings_are_strict_and_override_defaults() -> None:
    custom = TriageSettings.model_validate({"category_points": {"question": 0}, "thresholds": {"high": 2}})
    assert severity(category="question", sentiment_score=0, settings=custom)[0] == "low"
    assert severity(category="complaint", sentiment_score=0, settings=custom)[0] == "high"
    with pytest.raises(ValidationError):
        TriageSettings.model_validate({"weights": {}})
    with pytest.raises(ValidationError):
        SeverityThresholds.model_validate({"urgent": 3})


def test_classifier_uses_the_settings() -> None:
    m = mention("How do I reset my password?")
    assert RuleClassifier().assess(m).severity == "medium"
    quiet = RuleClassifier(TriageSettings.model_validate({"category_points": {"question": 0}}))
    assert quiet.assess(m).severity == "low"
