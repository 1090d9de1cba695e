from .classifier import Classifier, Triage, load_triage_model
from .severity import TriageSettings, severity

__all__ = ["Classifier", "Triage", "TriageSettings", "load_triage_model", "severity"]
