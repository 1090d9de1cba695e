from .matcher import Matcher, describe_variants

__all__ = ["Matcher", "describe_variants"]
