"""Acknowledge by reacting in Slack (Web API mode only): any reaction on an alert's message, by anyone but the bot.

Slack pushes reactions only to a public endpoint (Events API) or a Socket Mode app; without either, each poll asks
`reactions.get` about at most `per_poll` of the messages still waiting (delivered in the last 7 days, not yet
acknowledged), taking turns so every message is looked at. Needs the `reactions:read` scope, and `channel` in
the notifier's config must be the channel ID (C0…), not its name.
"""
from __future__ import annotations

from typing import Any

import httpx
import structlog

from ..errors import PermanentError, RateLimitedError
from ..http import parse_retry_after, raise_for_status
from ..notifiers.format import one_line
from ..notifiers.slack import SlackConfig, api_error
from ..store import Store
from .common import ACK_WINDOW, ack_all, label, request_json

log = structlog.get_logger()

PER_POLL = 20   # reactions.get is Tier 3 (about 50 a minute): 20 every 30 s stays well inside it
_GONE = {"message_not_found", "thread_not_found"}


def reactors(body: dict[str, Any]) -> list[str]:
    """Users who reacted to the message in a reactions.get reply, in Slack's order, each once."""
    item = body.get("message") or body.get("file") or {}
    users: list[str] = []
    for reaction in (item.get("reactions") or []) if isinstance(item, dict) else ():
        for user in (reaction.get("users") or []) if isinstance(reaction, dict) else ():
            if isinstance(user, str) and user not in users:
                users.append(user)
    return users


def take_turns(open_ts: list[str], after: float, count: int) -> list[str]:
    """Up to `count` message timestamps, the ones after `after` first, then from the oldest again."""
    ordered = sorted(set(open_ts), key=float)
    later = [ts for ts in ordered if float(ts) > after]
    return (later + [ts for ts in ordered if float(ts) <= after])[:count]


class SlackAckListener:
    kind = "slack"

    def __init__(self, notifier_id: str, config: SlackConfig, http: httpx.AsyncClient, store: Store,
                 per_poll: int = PER_POLL, window: float = ACK_WINDOW):
        self.id, self._config, self._http, self._store = notifier_id, config, http, store
        self._per_poll, self._window = per_poll, window
        self._what = f"slack ack listener {notifier_id!r}"
        self._me: str | None = None
        self._after = 0.0           # the last message timestamp looked at: where the next poll goes on
        self._gone: set[str] = set()  # deleted messages: never asked about again

    async def poll_once(self, now: float) -> int:
        if self._me is None:
            self._me = str((await self._call("auth.test", {})).get("user_id") or "")
        deliveries = await self._store.run(self._store.open_deliveries, self.id, now - self._window)
        open_ts = [ts for _, ts in deliveries if _is_ts(ts) and ts not in self._gone]
        acked = 0
        for ts in take_turns(open_ts, self._after, self._per_poll):
            users = await self._reactors(ts)
            others = [u for u in users if u != self._me]
            if others:  # each message's acknowledgement is stored on its own: a later failure keeps it
                acked += await self._store.run(ack_all, self._store, self.id, [(ts, label("slack", others[0]))],
                                               now, self._window)
            self._after = float(ts)
        if acked:
            log.info("alerts_acknowledged", notifier_id=self.id, via="slack", count=acked)
        return acked

    async def _reactors(self, ts: str) -> list[str]:
        try:
            body = await self._call("reactions.get", {"channel": self._config.channel or "", "timestamp": ts,
                                                      "full": "true"})
        except PermanentError as exc:
            if any(code in str(exc) for code in _GONE):
                self._gone.add(ts)
                return []
            raise
        return reactors(body)

    async def _call(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        assert self._config.token is not None
        response, body = await request_json(
            self._http, "GET", f"{self._config.api_url.rstrip('/')}/{method}", what=self._what,
            timeout=self._config.timeout, params=params,
            headers={"Authorization": f"Bearer {self._config.token.get_secret_value()}"})
        if response.status_code == 429 or body.get("error") == "ratelimited":
            raise RateLimitedError(f"{self._what}: {method} rate limited",
                                   parse_retry_after(response.headers.get("Retry-After")))
        code = str(body.get("error") or "unexpected reply")
        # the body was read already (capped): Slack's error code, not the service's raw text
        raise_for_status(response, f"{self._what}: {method} [{one_line(code, 80)}]")
        if body.get("ok") is not True:
            if code == "channel_not_found":
                raise PermanentError(f"{self._what}: Slack API error channel_not_found (for acknowledgements "
                                     "the notifier's channel must be the channel ID, e.g. C0123ABCD)")
            raise api_error(f"{self._what}: {method}", code)
        return body


def _is_ts(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True

