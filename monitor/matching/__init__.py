from .matcher import Matcher

__all__ = ["Matcher"]
