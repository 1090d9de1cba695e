"""Acknowledging alerts from where people are, with no public endpoint: Matrix reactions (sync), Telegram
buttons (getUpdates), Slack reactions (reactions.get), and the brands' own public replies (Mastodon, Bluesky). Each listener's `poll_once(now)` returns how many alerts
it acknowledged and raises only monitor.errors kinds; `AckPoller` runs them all and contains those errors."""
from __future__ import annotations

import httpx
import structlog

from ..errors import ExternalError, RateLimitedError
from ..notifiers.matrix import MatrixConfig
from ..notifiers.slack import SlackConfig
from ..notifiers.telegram import TelegramConfig
from ..settings import Settings
from ..store import Store
from .common import AckListener
from .matrix import MatrixAckListener
from .replies import PublicReplyListener
from .slack import SlackAckListener
from .telegram import TelegramAckListener

log = structlog.get_logger()

__all__ = ["AckListener", "AckPoller", "MatrixAckListener", "PublicReplyListener", "SlackAckListener",
           "TelegramAckListener", "ack_listeners"]


def ack_listeners(settings: Settings, http: httpx.AsyncClient, store: Store) -> list[AckListener]:
    """One listener per Matrix notifier, per Slack notifier in Web API mode, per Telegram bot (several
    notifiers sharing one bot token share one listener: Telegram allows one getUpdates consumer per bot), and
    per account of the brands' own."""
    listeners: list[AckListener] = []
    bots: set[tuple[str, str]] = set()
    for notifier_id, config in settings.notifiers.items():
        if isinstance(config, MatrixConfig):
            listeners.append(MatrixAckListener(notifier_id, config, http, store))
        elif isinstance(config, SlackConfig) and config.token is not None and config.channel:
            listeners.append(SlackAckListener(notifier_id, config, http, store))
        elif isinstance(config, TelegramConfig):
            bot = (config.api_url.rstrip("/"), config.token.get_secret_value())
            if bot not in bots:
                bots.add(bot)
                listeners.append(TelegramAckListener(notifier_id, config, http, store))
    accounts = {a for brand in settings.brands for a in brand.own_accounts}
    listeners += [PublicReplyListener(a, settings.public_replies, http, store) for a in sorted(accounts)]
    return listeners


class AckPoller:
    """Polls every listener once per call; a failing listener is logged when it starts and stops failing (not on
    every poll), skipped until a server-given Retry-After has passed, and never stops the others."""

    def __init__(self, listeners: list[AckListener]):
        self.listeners = listeners
        self._failing: dict[str, str] = {}
        self._resume_at: dict[str, float] = {}

    async def poll(self, now: float) -> int:
        total = 0
        for listener in self.listeners:
            key = f"{listener.kind}:{listener.id}"
            if now < self._resume_at.get(key, 0.0):
                continue
            try:
                total += await listener.poll_once(now)
            except ExternalError as exc:
                self._failed(key, listener, exc, now)
            else:
                if self._failing.pop(key, None) is not None:
                    log.info("ack_listener_recovered", notifier_id=listener.id, via=listener.kind)
                self._resume_at.pop(key, None)
        return total

    def failing(self) -> dict[str, str]:
        """`kind:notifier id` -> the last error, for status."""
        return dict(self._failing)

    def _failed(self, key: str, listener: AckListener, exc: ExternalError, now: float) -> None:
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            self._resume_at[key] = now + exc.retry_after
        if key not in self._failing:
            log.warning("ack_listener_failed", notifier_id=listener.id, via=listener.kind,
                        error_kind=type(exc).__name__, error=str(exc))
        self._failing[key] = str(exc)
