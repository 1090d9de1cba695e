"""Post -> mentions -> assessments -> routes -> alerts: the part shared by the daemon and `replay`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from .classify import Classifier
from .classify.reply import draft_reply, reply_language
from .matching import Matcher
from .models import Alert, Assessment, AuthorHistory, Match, Mention, Post, alert_id_for
from .routing.router import Routing, active_mute, route
from .settings import BrandConfig, MuteConfig, RouteConfig

log = structlog.get_logger()


@dataclass(frozen=True)
class Outcome:
    alert: Alert
    routing: Routing | None  # None: no route takes it (or a mute holds it); the alert is still recorded
    muted: bool = False


class Pipeline:
    def __init__(self, matcher: Matcher, classifier: Classifier, routes: Sequence[RouteConfig],
                 source_brands: dict[str, set[str]] | None = None, mutes: Sequence[MuteConfig] = (),
                 reply_templates: dict[str, str] | None = None, source_about: dict[str, BrandConfig] | None = None,
                 own_accounts: set[tuple[str, str]] = frozenset(), reply_languages: dict[str, str] | None = None):
        self._matcher = matcher
        self._reply_languages = reply_languages or {}  # brand -> language of replies to posts in other languages
        self._classifier = classifier
        self._reply_templates = reply_templates or {}
        self._routes = list(routes)
        self._mutes = list(mutes)
        self._source_brands = source_brands or {}
        self._source_about = source_about or {}
        self._own_accounts = own_accounts  # (platform, handle): the brands' own posts are not mentions

    def process(self, post: Post, now: datetime, history: AuthorHistory | None = None,
                velocity: Mapping[str, int] | None = None) -> list[Outcome]:
        """One Outcome per brand mentioned in the post (routing None when no route takes it). `velocity`:
        per brand, how many negative reports arrived lately (raises severity when trouble piles up)."""
        if (post.platform, post.author.handle.lower()) in self._own_accounts:
            return []
        allowed = self._source_brands.get(post.source_id)
        about = self._source_about.get(post.source_id)
        outcomes = []
        for mention in self._mentions(post):
            if allowed and mention.brand not in allowed and not (about and mention.brand == about.name):
                continue
            recent = (velocity or {}).get(mention.brand, 0)
            assessment, reply = self._triage(mention, history or AuthorHistory(), recent)
            mute = active_mute(mention, assessment, self._mutes, now)
            if mute is not None:
                log.info("alert_muted", brand=mention.brand, post_id=post.id, until=mute.until.isoformat(),
                         reason=mute.reason)
            routing = None if mute else route(mention, assessment, self._routes, now)
            respond_within = routing.respond_within if routing else 3600.0
            alert = Alert(id=alert_id_for(mention.brand, post.dedup_key), mention=mention, assessment=assessment,
                          routes=routing.routes if routing else (), respond_by=now + timedelta(seconds=respond_within),
                          created_at=now, reply=reply, author_history=history or AuthorHistory())
            outcomes.append(Outcome(alert, routing, muted=mute is not None))
        return outcomes

    def _mentions(self, post: Post) -> list[Mention]:
        """What the matcher finds, plus the source's `about:` brand when the post does not name it."""
        mentions = self._matcher.match(post)
        about = self._source_about.get(post.source_id)
        if about and all(m.brand != about.name for m in mentions):
            by_source = Match(term=about.name, kind="source", score=100.0, start=0, end=0)
            mentions.append(Mention(post=post, brand=about.name, competitor=about.competitor, matches=(by_source,)))
        return mentions

    def _triage(self, mention: Mention, history: AuthorHistory, velocity: int) -> tuple[Assessment, str]:
        """Assess and draft a reply. A mention the classifier chokes on is still alerted (as high, saying
        why) rather than lost: a human can judge it, nobody can judge what never arrives."""
        try:
            assessment = self._classifier.assess(mention, velocity=velocity, author_complaints=history.complaints)
            lang = reply_language(assessment, self._reply_languages.get(mention.brand, "en"))
            if lang != assessment.language:
                assessment = replace(assessment, reasons=(*assessment.reasons, f"reply drafted in {lang}"))
            return assessment, draft_reply(mention, assessment, self._reply_templates, lang)
        except Exception as exc:
            log.exception("triage_failed", source_id=mention.post.source_id, post_id=mention.post.id)
            return Assessment(language="other", sentiment="neutral", sentiment_score=0.0, category="other",
                              severity="high", reasons=(f"triage failed ({type(exc).__name__}); not classified",),
                              urgent=True, judged_by="nothing (triage failed)"), ""
