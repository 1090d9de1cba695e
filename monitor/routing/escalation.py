"""Escalation: an alert nobody acknowledged in time goes to more people, again and again up to a maximum."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from ..runtime import counters
from ..settings import RouteConfig

if TYPE_CHECKING:
    from ..store import Store

log = structlog.get_logger()


@dataclass(frozen=True)
class Escalation:
    round: int                       # 1 for the first escalation
    destinations: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Window:
    """Which unacknowledged alerts could be due: created since `since`, and already waited the shortest `after`
    plus the shortest `repeat` per round so far, with fewer than the most `rounds` of any route."""
    since: float
    now: float
    after: float = 0.0
    repeat: float = 0.0
    rounds: int = 1 << 30


def due(routes: Sequence[str], created_at: float, escalations: int, now: float,
        rules: Sequence[RouteConfig]) -> Escalation | None:
    """The escalation an unacknowledged alert is due for now, if any (the alert's routes decide)."""
    targets: dict[str, None] = {}
    waited = now - created_at
    notes = []
    for rule in rules:
        esc = rule.escalate
        if esc is None or rule.name not in routes or escalations >= esc.max:
            continue
        deadline = esc.after + escalations * (esc.repeat or esc.after)
        if waited >= deadline:
            targets.update(dict.fromkeys(esc.notify))
            notes.append(_duration(deadline))
    if not targets:
        return None
    return Escalation(escalations + 1, tuple(targets), f"not acknowledged after {notes[0]}")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


async def escalate_due(store: Store, rules: Sequence[RouteConfig], now: float) -> int:
    """Queue every escalation that is due; returns the number of outbox rows written."""
    plans = [r.escalate for r in rules if r.escalate]
    if not plans:
        return 0
    horizon = max(e.after + e.max * (e.repeat or e.after) for e in plans)
    window = Window(since=now - horizon, now=now, after=min(e.after for e in plans),
                    repeat=min(e.repeat or e.after for e in plans), rounds=max(e.max for e in plans))
    queued = 0
    for alert_id, created_at, count, routes in await store.run(store.escalation_candidates, window):
        escalation = due(routes, created_at, count, now, rules)
        if escalation is None:
            continue
        queued += await store.run(store.escalate, alert_id, escalation.round, escalation.destinations,
                                  escalation.note, now)
        counters.escalated()
        log.warning("alert_escalated", alert_id=alert_id, round=escalation.round,
                    notify=list(escalation.destinations), reason=escalation.note)
    return queued
