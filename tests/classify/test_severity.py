"""Severity is a pure function: a table of inputs and the level they must produce."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.classify import Triage, TriageSettings, severity
from monitor.classify.severity import SeverityThresholds
from tests.classify.builders import mention

# issue, score, urgent, followers, likes, reposts, velocity, history, competitor, expected
TABLE = [
    ("other", 0.0, False, 0, 0, 0, 0, 0, False, "low"),
    ("news", -0.4, False, 0, 0, 0, 0, 0, False, "low"),
    ("praise", 0.9, False, 5_000_000, 9_000, 900, 50, 9, False, "low"),
    ("question", 0.0, False, 0, 0, 0, 0, 0, False, "medium"),
    ("product_quality", -0.2, False, 0, 0, 0, 0, 0, False, "low"),
    ("product_quality", -0.8, False, 0, 0, 0, 0, 0, False, "medium"),
    ("delivery", -0.5, False, 0, 0, 0, 0, 0, False, "medium"),
    ("delivery", -0.5, False, 20_000, 0, 0, 0, 0, False, "high"),
    ("delivery", -0.5, False, 0, 0, 0, 0, 2, False, "high"),
    ("billing", 0.0, False, 0, 0, 0, 0, 0, False, "high"),  # calm words, money: high anyway
    ("account_access", -0.1, False, 0, 0, 0, 0, 0, False, "high"),
    ("security_fraud", -0.8, False, 0, 0, 0, 0, 0, False, "critical"),
    ("safety", -0.4, False, 0, 0, 0, 0, 0, False, "high"),
    ("legal", -0.8, False, 200_000, 0, 0, 0, 0, False, "critical"),
    ("staff_conduct", -0.8, False, 200_000, 60, 0, 0, 0, False, "critical"),
    ("billing", -0.8, False, 200_000, 0, 0, 0, 0, True, "medium"),
    ("outage", 0.0, False, 0, 0, 0, 0, 0, False, "high"),
    ("outage", -0.5, False, 0, 0, 0, 10, 0, False, "critical"),
    ("outage", -0.5, False, 0, 400, 100, 0, 0, False, "critical"),
    ("outage", -0.9, False, 0, 0, 0, 30, 0, True, "medium"),
    ("product_quality", -0.2, True, 0, 0, 0, 0, 0, False, "high"),  # urgent: at least high
    ("churn", 0.0, True, 0, 0, 0, 0, 0, True, "medium"),  # competitor cap wins over urgency
]


@pytest.mark.parametrize(("issue", "score", "urgent", "followers", "likes", "reposts", "velocity", "history",
                          "competitor", "expected"), TABLE)
def test_severity_table(issue, score, urgent, followers, likes, reposts, velocity, history, competitor,
                        expected) -> None:
    level, reasons = severity(issue=issue, sentiment_score=score, urgent=urgent, followers=followers, likes=likes,
                              reposts=reposts, velocity=velocity, author_complaints=history, competitor=competitor)
    assert level == expected, reasons
    assert reasons[0].startswith(f"issue {issue}") and reasons[-1].endswith(f"→ {level}")


def test_reasons_name_each_contribution() -> None:
    _, reasons = severity(issue="delivery", sentiment_score=-0.9, urgent=True, followers=150_000, likes=600,
                          velocity=4, author_complaints=6)
    text = " | ".join(reasons)
    for part in ("issue delivery +2", "tone -0.90 +2", "reach 150000 followers +2", "engagement 600 likes",
                 "4 negative reports lately", "complained 6× before +2"):
        assert part in text


def test_source_weight_by_source_id_then_platform() -> None:
    s = TriageSettings(source_weights={"hn": 0.5, "reddit": 2.0})
    assert severity(issue="outage", sentiment_score=0, source="hn", platform="reddit", settings=s)[0] == "medium"
    assert severity(issue="delivery", sentiment_score=-0.8, platform="reddit", settings=s)[0] == "critical"
    assert severity(issue="delivery", sentiment_score=-0.8, platform="other", settings=s)[0] == "high"


def test_settings_are_strict_and_override_defaults() -> None:
    custom = TriageSettings.model_validate({"issue_points": {"question": 0}, "thresholds": {"high": 2},
                                            "urgent_at_least": "critical"})
    assert severity(issue="question", sentiment_score=0, settings=custom)[0] == "low"
    assert severity(issue="delivery", sentiment_score=0, settings=custom)[0] == "high"
    assert severity(issue="question", sentiment_score=0, urgent=True, settings=custom)[0] == "critical"
    with pytest.raises(ValidationError):
        TriageSettings.model_validate({"weights": {}})
    with pytest.raises(ValidationError):
        SeverityThresholds.model_validate({"urgent": 3})


def test_classifier_uses_the_settings() -> None:
    m = mention("How do I reset my password?")
    assert Triage().assess(m).severity == "medium"
    quiet = Triage(TriageSettings.model_validate({"issue_points": {"question": 0}}))
    assert quiet.assess(m).severity == "low"
