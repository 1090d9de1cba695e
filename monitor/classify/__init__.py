from .classifier import Classifier, RuleClassifier

__all__ = ["Classifier", "RuleClassifier"]
