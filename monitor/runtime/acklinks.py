"""Acknowledge-links: a signed URL per alert, for destinations with no reaction or button (e-mail, ntfy…).

The link opens a page on the daemon's local listener (see monitor.runtime.metrics.serve; publish it with a
reverse proxy at `ack_links.public_url`). Opening the link only shows a button: mail scanners that fetch every
link must not acknowledge alerts for people. The button POSTs back and acknowledges.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import time
from collections.abc import Callable
from urllib.parse import quote

from ..store import Store


class AckLinks:
    def __init__(self, secret: str, public_url: str, store: Store, clock: Callable[[], float] = time.time):
        self._key = secret.encode()
        self._base = public_url.rstrip("/")
        self._store = store
        self._clock = clock

    def url_for(self, alert_id: str) -> str:
        return f"{self._base}/ack/{quote(alert_id, safe='')}?t={self.token(alert_id)}"

    def token(self, alert_id: str) -> str:
        return hmac.new(self._key, alert_id.encode(), hashlib.sha256).hexdigest()[:32]

    def valid(self, alert_id: str, token: str) -> bool:
        return hmac.compare_digest(self.token(alert_id), token)

    async def acknowledge(self, alert_id: str) -> bool:
        return await self._store.run(self._store.ack, alert_id, self._clock(), "email-link")


def confirm_page(alert_id: str, token: str) -> bytes:
    action = f"/ack/{quote(alert_id, safe='')}?t={quote(token)}"
    return _page("Acknowledge this alert?",
                 f'<form method="post" action="{html.escape(action)}"><button type="submit">'
                 "Acknowledge alert " + html.escape(alert_id) + "</button></form>")


def done_page(acknowledged: bool) -> bytes:
    return _page("Acknowledged" if acknowledged else "Already acknowledged",
                 "<p>Thank you. Its escalation has stopped.</p>" if acknowledged
                 else "<p>Someone acknowledged this alert already (or it no longer exists).</p>")


def _page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1>{body}</body></html>").encode()
