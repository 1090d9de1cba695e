"""Acknowledging alerts from where people are, with no public endpoint: Matrix reactions (sync), Telegram
buttons (getUpdates), Slack reactions (reactions.get), and the brands' own public replies (Mastodon, Bluesky).
Each listener's `poll_once(now)` returns how many alerts it acknowledged and raises only monitor.errors kinds;
`AckPoller` runs them all and contains those errors."""
from __future__ import annotations

import sqlite3

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
    every poll), skipped until a server-given Retry-After has passed, and never stops the others. With a store,
    each listener's state is saved when it changes, for `brand-monitor status`."""

    def __init__(self, listeners: list[AckListener], store: Store | None = None):
        self.listeners = listeners
        self._store = store
        # `kind:id` -> (the last error, None while it works; when it started working or failing)
        self._states: dict[str, tuple[str | None, float]] = {}
        self._resume_at: dict[str, float] = {}
        self._forgotten = False

    async def poll(self, now: float) -> int:
        if self._store is not None and not self._forgotten:
            await self._store.run(self._store.forget_listeners_except, [_key(x) for x in self.listeners])
            self._forgotten = True
        total = 0
        for listener in self.listeners:
            key = _key(listener)
            if now < self._resume_at.get(key, 0.0):
                continue
            try:
                total += await listener.poll_once(now)
            except ExternalError as exc:
                if isinstance(exc, RateLimitedError) and exc.retry_after:
                    self._resume_at[key] = now + exc.retry_after
                await self._record(key, listener, exc, now)
            else:
                self._resume_at.pop(key, None)
                await self._record(key, listener, None, now)
        return total

    def failing(self) -> dict[str, str]:
        """`kind:notifier id` -> the last error."""
        return {key: error for key, (error, _) in self._states.items() if error is not None}

    async def _record(self, key: str, listener: AckListener, exc: ExternalError | None, now: float) -> None:
        error = None if exc is None else str(exc)
        state = self._states.get(key)
        if state is not None and state[0] == error:
            return
        was_working = state is None or state[0] is None
        since = state[1] if state is not None and was_working == (error is None) else now
        self._states[key] = (error, since)
        if exc is not None and was_working:
            log.warning("ack_listener_failed", notifier_id=listener.id, via=listener.kind,
                        error_kind=type(exc).__name__, error=error)
        elif exc is None and state is not None:
            log.info("ack_listener_recovered", notifier_id=listener.id, via=listener.kind)
        if self._store is not None:
            try:
                await self._store.run(self._store.save_listener_state, key, error is None, since, error)
            except sqlite3.Error as err:  # the listeners' own work goes on; status is just less current
                log.warning("listener_state_not_saved", listener=key, error=str(err))


def _key(listener: AckListener) -> str:
    return f"{listener.kind}:{listener.id}"
