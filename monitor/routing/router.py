"""Pure routing rules: which routes match a mention, and which destinations receive it."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Assessment, Mention
from ..settings import RouteConfig


@dataclass(frozen=True)
class Routing:
    routes: tuple[str, ...]
    destinations: tuple[str, ...]     # each once, in route order
    respond_within: float             # seconds: the tightest SLA of the matched routes


def matches(route: RouteConfig, mention: Mention, assessment: Assessment) -> bool:
    when = route.when
    checks = ((when.brand, mention.brand), (when.severity, assessment.severity),
              (when.sentiment, assessment.sentiment), (when.category, assessment.category),
              (when.source, mention.post.source_id), (when.language, assessment.language))
    if any(allowed and value not in allowed for allowed, value in checks):
        return False
    return when.competitor is None or when.competitor == mention.competitor


def route(mention: Mention, assessment: Assessment, rules: Sequence[RouteConfig]) -> Routing | None:
    """Every matching route applies, in order, until one with `stop: true`; None when none matches."""
    names: list[str] = []
    destinations: dict[str, None] = {}
    sla = float("inf")
    for rule in rules:
        if not matches(rule, mention, assessment):
            continue
        names.append(rule.name)
        destinations.update(dict.fromkeys(rule.notify))
        sla = min(sla, rule.respond_within)
        if rule.stop:
            break
    if not names:
        return None
    return Routing(routes=tuple(names), destinations=tuple(destinations), respond_within=sla)
