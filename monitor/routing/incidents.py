"""Incidents: when several customers report the same problem with a brand within a window, one incident alert
("5 people report Acme outage since 09:12") replaces the flood, with a drafted public status update, and is
updated as more reports arrive (when the count doubles) instead of alerting on each one.

Same problem = same brand, same category (outage or complaint), negative, within `window`, and sharing enough
content words with an earlier report (Jaccard similarity of their word sets, brand names left out).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from ..models import Alert, Assessment, Author, Mention, Post, Send
from ..settings import IncidentConfig

_WORD = re.compile(r"[^\W\d_]{3,}")
_STATUS_UPDATE = {
    "en": "We're aware that some customers are having trouble with {brand} ({what}) since {since}. Our team is "
          "working on it and we'll post an update here as soon as we know more. Sorry for the inconvenience.",
    "ru": "Мы знаем, что с {since} у части клиентов проблемы с {brand} ({what}). Команда уже работает над "
          "этим, мы сообщим здесь, как только будет больше информации. Приносим извинения.",
    "fa": "می‌دانیم که از ساعت {since} برخی از مشتریان در استفاده از {brand} با مشکل روبه‌رو هستند ({what}). "
          "همکاران ما در حال رفع مشکل هستند و به‌زودی همین‌جا اطلاع‌رسانی می‌کنیم. از صبوری شما سپاسگزاریم.",
    "is": "Við vitum að sumir viðskiptavinir hafa átt í vandræðum með {brand} ({what}) síðan {since}. Unnið er "
          "að lausn og við setjum inn uppfærslu hér um leið og við vitum meira. Afsakið óþægindin.",
}
_WHAT = {"outage": {"en": "service down or not working", "ru": "сбой сервиса", "fa": "قطعی یا اختلال",
                    "is": "bilun í þjónustu"},
         "complaint": {"en": "complaints", "ru": "жалобы", "fa": "شکایت‌ها", "is": "kvartanir"}}


@dataclass(frozen=True)
class Report:
    """An earlier alert that may belong to the same problem."""
    alert_id: str
    created_at: float
    words: frozenset[str]


@dataclass(frozen=True)
class Incident:
    id: str
    brand: str
    category: str
    opened_at: float
    updated_at: float
    members: int
    notified_members: int
    language: str
    destinations: tuple[str, ...]


def report_words(alert: Alert) -> frozenset[str]:
    """Content words of the post, without the matched brand names (every report shares those)."""
    post = alert.mention.post
    text = f"{post.title}\n{post.text}" if post.title else post.text
    for m in sorted(alert.mention.matches, key=lambda m: -m.start):
        text = text[:m.start] + " " + text[m.end:]
    return frozenset(map(str.casefold, _WORD.findall(text)))


def incident_key(alert: Alert) -> tuple[str, str] | None:
    a = alert.assessment
    if alert.mention.competitor or a.sentiment != "negative" or a.category not in ("outage", "complaint"):
        return None
    return alert.mention.brand, a.category


def similar(words: frozenset[str], reports: list[Report], threshold: float) -> list[Report]:
    return [r for r in reports if _jaccard(words, r.words) >= threshold]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def open_incident(alert: Alert, matching: list[Report], destinations: dict[str, Send], now: float) -> Incident:
    brand, category = incident_key(alert)
    opened = min([r.created_at for r in matching] + [now])
    incident_id = hashlib.sha256(f"{brand}\0{category}\0{opened}".encode()).hexdigest()[:16]
    return Incident(id=incident_id, brand=brand, category=category, opened_at=opened, updated_at=now,
                    members=len(matching) + 1, notified_members=0, language=alert.assessment.language,
                    destinations=tuple(destinations))


def needs_notice(incident: Incident) -> bool:
    """Tell people when it opens, then each time the number of reports has doubled."""
    return incident.notified_members == 0 or incident.members >= 2 * incident.notified_members


def incident_alert(incident: Incident, latest: list[Alert], config: IncidentConfig) -> Alert:
    """The incident as an alert, so every notifier and the store handle it like any other."""
    now = datetime.fromtimestamp(incident.updated_at, timezone.utc)
    since = datetime.fromtimestamp(incident.opened_at, timezone.utc).strftime("%H:%M UTC")
    update = "" if incident.notified_members == 0 else " (update)"
    lines = [f"• {a.mention.post.author.handle or 'someone'}: "
             f"{' '.join((a.mention.post.title or a.mention.post.text).split())[:160]} "
             f"{a.mention.post.url}".rstrip() for a in latest[-5:]]
    post = Post(source_id="incidents", platform="incident", id=f"{incident.id}:{incident.members}",
                url=f"incident:{incident.id}/{incident.members}",
                title=f"Incident{update}: {incident.members} people report {incident.brand} {incident.category} "
                      f"since {since}",
                text="Latest reports:\n" + "\n".join(lines), author=Author(), published_at=now)
    mention = Mention(post=post, brand=incident.brand, competitor=False, matches=())
    severity = "critical" if incident.members >= config.critical_at else "high"
    assessment = Assessment(language=incident.language, sentiment="negative", sentiment_score=-1.0,
                            category=incident.category, severity=severity,
                            reasons=(f"{incident.members} similar reports within {config.window / 60:.0f} min",))
    return Alert(id=f"incident-{incident.id}-{incident.members}", mention=mention, assessment=assessment,
                 routes=("incident",), respond_by=now + timedelta(seconds=config.respond_within), created_at=now,
                 reply=status_update(incident), thread=f"incident:{incident.id}")


def status_update(incident: Incident) -> str:
    """A public status-update text to post, in the reporters' language."""
    lang = incident.language if incident.language in _STATUS_UPDATE else "en"
    since = datetime.fromtimestamp(incident.opened_at, timezone.utc).strftime("%H:%M UTC")
    what = _WHAT[incident.category][lang]
    return _STATUS_UPDATE[lang].format(brand=incident.brand, what=what, since=since)


def grown(incident: Incident, alert: Alert, now: float) -> Incident:
    return replace(incident, members=incident.members + 1, updated_at=now)


Key = tuple[str, str]


def absorb(items: list[tuple[Alert, dict[str, Send]]], incidents: dict[Key, Incident], reports: dict[Key, list[Report]],
           config: IncidentConfig, now: float) -> tuple[list[tuple[Alert, dict[str, Send]]], list[Incident]]:
    """Fold a poll's alerts into incidents. Reports of an open incident are kept but sent nowhere; the incident
    alert goes to the destinations of the report that opened it. Returns (alerts to store, incidents changed)."""
    out: list[tuple[Alert, dict[str, Send]]] = []
    changed: dict[Key, Incident] = {}
    for alert, deliveries in items:
        key = incident_key(alert) if config.enabled and deliveries else None
        if key is None:
            out.append((alert, deliveries))
            continue
        words = report_words(alert)
        incident = incidents.get(key)
        if incident is not None:
            incident = grown(incident, alert, now)
        else:
            matching = similar(words, reports.get(key, []), config.similarity)
            if len(matching) + 1 < config.threshold:
                reports.setdefault(key, []).append(Report(alert.id, now, words))
                out.append((alert, deliveries))
                continue
            incident = open_incident(alert, matching, deliveries, now)
        out.append((alert, {}))
        if needs_notice(incident):
            notice = incident_alert(incident, [alert], config)
            out.append((replace(notice, routes=("incident", *alert.routes)),
                        {d: Send() for d in incident.destinations}))
            incident = replace(incident, notified_members=incident.members)
        incidents[key] = changed[key] = incident
    return out, list(changed.values())
