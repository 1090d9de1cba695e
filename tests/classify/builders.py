"""Mentions built from hand-written text for the classifier tests."""
from __future__ import annotations

from monitor.models import Author, Engagement, Mention, Post


def mention(text: str, *, followers: int | None = None, competitor: bool = False, likes: int = 0,
            display_name: str = "", title: str = "", lang_hint: str | None = None) -> Mention:
    post = Post(source_id="test", platform="test", id="1", title=title, text=text,
                author=Author(display_name=display_name, followers=followers), engagement=Engagement(likes=likes),
                lang_hint=lang_hint)
    return Mention(post=post, brand="Acme", competitor=competitor, matches=())
