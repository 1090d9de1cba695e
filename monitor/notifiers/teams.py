"""Microsoft Teams through a Workflows ("Send webhook alerts to a channel") webhook, as an Adaptive Card.

Untrusted text goes only into `TextRun`s (no markdown, no links) and the card never carries `msteams.entities`,
so `<at>x</at>` in a post is just text. The flow answers 202 and runs later: a card it cannot render fails
silently on Microsoft's side, so the card sticks to long-supported elements (Adaptive Cards 1.4).
"""
from __future__ import annotations

from typing import Any, Literal

import httpx

from .. import registry
from ..models import Alert, Delivery
from ..settings import Duration, NotifierConfig
from .base import SecretUrl, check, describe, encode_json, post
from .format import AlertView, fit, one_line

MAX_BYTES = 27_000  # Teams refuses messages over 28 KB
_COLOUR = {"critical": "Attention", "high": "Attention", "medium": "Warning", "low": "Accent"}


class TeamsConfig(NotifierConfig):
    type: Literal["teams"]
    min_interval: Duration = 0.25  # Teams Workflows: about 4 requests a second
    webhook_url: SecretUrl


def _runs(*runs: tuple[str, bool]) -> dict[str, Any]:
    inlines = [{"type": "TextRun", "text": text, **({"weight": "Bolder"} if bold else {})} for text, bold in runs]
    return {"type": "RichTextBlock", "inlines": inlines}


def card(v: AlertView) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": f"{v.emoji} {v.severity.capitalize()} · {v.category}", "weight": "Bolder",
         "size": "Large", "color": _COLOUR.get(v.severity, "Default"), "wrap": True},
        _runs((one_line(v.heading, 200), False)),
    ]
    if v.title:
        body.append(_runs((v.title, True)))
    if v.excerpt:
        body.append(_runs((v.excerpt, False)))
    body += [_runs((f"{label}: ", True), (value, False)) for label, value in v.facts()]
    if v.reply:
        body += [{"type": "TextBlock", "text": v.reply_label, "weight": "Bolder", "wrap": True,
                  "separator": True},
                 _runs((v.reply, False))]
    content: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                               "type": "AdaptiveCard", "version": "1.4", "body": body, "msteams": {"width": "Full"}}
    if v.url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open post", "url": v.url}]
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "contentUrl": None, "content": content}]}


def message(alert: Alert) -> bytes:
    """The card as JSON bytes, excerpt and reply shrunk until it fits Teams' size limit."""
    return fit(alert, lambda v: encode_json(card(v)), len, MAX_BYTES)


class TeamsNotifier:
    def __init__(self, notifier_id: str, config: TeamsConfig, http: httpx.AsyncClient):
        self.id, self._config, self._http = notifier_id, config, http
        self._what = describe("teams", notifier_id)

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        response = await post(self._http, self._config.webhook_url.get_secret_value(), content=message(alert),
                              what=self._what, timeout=self._config.timeout)
        check(response, self._what)
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=response.status_code)


@registry.notifier("teams", TeamsConfig)
def make_teams(notifier_id: str, config: TeamsConfig, ctx: registry.PluginContext) -> TeamsNotifier:
    return TeamsNotifier(notifier_id, config, ctx.http)
