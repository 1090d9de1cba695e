from .classifier import Classifier, RuleClassifier
from .severity import TriageSettings, severity

__all__ = ["Classifier", "RuleClassifier", "TriageSettings", "severity"]
