"""Finds brand mentions in posts: case-insensitive, word-boundary aware, in any script."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ..models import Match, Mention, Post
from ..settings import BrandConfig


def normalize(text: str) -> str:
    """NFKC + case folding, length-preserving enough for spans on ordinary text."""
    return unicodedata.normalize("NFKC", text).casefold()


def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    terms = sorted({normalize(t) for t in terms if t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)")


class Matcher:
    def __init__(self, brands: Sequence[BrandConfig]):
        self._brands = [(b, _pattern(b.terms), _pattern(b.aliases), _pattern(b.exclude)) for b in brands]

    def match(self, post: Post) -> list[Mention]:
        """One Mention per brand found in the post's title or text."""
        text = post.text if not post.title else f"{post.title}\n{post.text}"
        folded = normalize(text)
        mentions = []
        for brand, terms, aliases, exclude in self._brands:
            if exclude is not None and exclude.search(folded):
                continue
            found = [Match(term=m.group(0), kind=kind, score=100.0, start=m.start(), end=m.end())
                     for pattern, kind in ((terms, "exact"), (aliases, "alias")) if pattern is not None
                     for m in pattern.finditer(folded)]
            if found:
                found.sort(key=lambda m: m.start)
                mentions.append(Mention(post=post, brand=brand.name, competitor=brand.competitor,
                                        matches=tuple(found)))
        return mentions
