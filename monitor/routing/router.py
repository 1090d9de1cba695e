"""Pure routing rules: which routes take a mention, which destinations receive it, and when."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..models import Assessment, Mention, Send
from ..settings import MuteConfig, QuietHours, RouteConfig, RouteWhen
from .digest import next_digest


@dataclass(frozen=True)
class Routing:
    routes: tuple[str, ...]
    deliveries: dict[str, Send]              # destination -> when (and in which digest); each destination once
    respond_within: float                    # seconds: the tightest SLA of the matched routes

    @property
    def destinations(self) -> tuple[str, ...]:
        return tuple(self.deliveries)


def holds(when: RouteWhen, mention: Mention, assessment: Assessment) -> bool:
    checks = ((when.brand, mention.brand), (when.severity, assessment.severity),
              (when.sentiment, assessment.sentiment), (when.category, assessment.category),
              (when.issue, assessment.issue), (when.source, mention.post.source_id),
              (when.language, assessment.language))
    if any(allowed and value not in allowed for allowed, value in checks):
        return False
    flags = ((when.competitor, mention.competitor), (when.urgent, assessment.urgent))
    return all(wanted is None or wanted == value for wanted, value in flags)


def active_mute(mention: Mention, assessment: Assessment, mutes: Sequence[MuteConfig],
                now: datetime) -> MuteConfig | None:
    return next((m for m in mutes if now < m.until and holds(m.when, mention, assessment)), None)


def route(mention: Mention, assessment: Assessment, rules: Sequence[RouteConfig], now: datetime) -> Routing | None:
    """Every matching route applies, in order, until one with `stop: true`; None when none matches.
    A destination reached by several routes is sent to once, at the earliest time any of them allows
    (an immediate route beats a digest)."""
    names: list[str] = []
    deliveries: dict[str, Send] = {}
    sla = float("inf")
    for rule in rules:
        if not holds(rule.when, mention, assessment):
            continue
        names.append(rule.name)
        send = _send(rule, now, assessment.severity)
        for destination in rule.notify:
            known = deliveries.get(destination)
            if known is None or (send.batch is None, -send.not_before) > (known.batch is None, -known.not_before):
                deliveries[destination] = send
        sla = min(sla, rule.respond_within)
        if rule.stop:
            break
    if not names:
        return None
    return Routing(routes=tuple(names), deliveries=deliveries, respond_within=sla)


def quiet_until(now: datetime, quiet: QuietHours | None, severity: str) -> datetime | None:
    """The end of the quiet period `now` falls in, or None when sending now is fine."""
    if quiet is None or severity in quiet.except_severity:
        return None
    local = now.astimezone(ZoneInfo(quiet.timezone))
    start, end, t = quiet.start, quiet.end, local.time()
    if start <= end:
        inside, end_day = start <= t < end, local.date()
    else:  # overnight, e.g. 22:00-07:00
        inside = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=local.tzinfo)


def _send(rule: RouteConfig, now: datetime, severity: str) -> Send:
    if rule.digest:
        return Send(not_before=next_digest(now, rule.digest).timestamp(), batch=f"digest:{rule.name}")
    quiet = quiet_until(now, rule.quiet_hours, severity)
    return Send(not_before=quiet.timestamp() if quiet else 0.0)
