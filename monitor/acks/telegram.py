"""Acknowledge with the "✅ Acknowledge" button under a Telegram alert (callback_data `ack:<alert id>`).

Long polling's short form: `getUpdates` with timeout=0 and `allowed_updates=["callback_query"]`, the offset kept in
memory. Telegram keeps unconfirmed updates for 24 hours, so presses made while the daemon was down are honoured
by the first poll. getUpdates fails with 409 while a webhook is set on the same bot: one bot, one consumer.
"""
from __future__ import annotations

import re
import sqlite3
from typing import Any

import httpx
import structlog

from ..errors import ExternalError, PermanentError, TransientError
from ..notifiers.base import encode_json
from ..notifiers.telegram import ACK_PREFIX, TelegramConfig, raise_error
from ..store import Store
from .common import label, request_json

log = structlog.get_logger()

MAX_UPDATES = 100
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_ALERT_ID = re.compile(r"[A-Za-z0-9_.:+\-]{1,60}")


def alert_id_from(data: object) -> str | None:
    """The alert id in an Acknowledge button's callback_data, or None for any other data."""
    if not isinstance(data, str) or not data.startswith(ACK_PREFIX):
        return None
    alert_id = data[len(ACK_PREFIX):]
    return alert_id if _ALERT_ID.fullmatch(alert_id) else None


def presser(query: dict[str, Any]) -> str:
    raw = query.get("from")
    user: dict[str, Any] = raw if isinstance(raw, dict) else {}
    username = user.get("username")
    if isinstance(username, str) and _USERNAME.fullmatch(username):
        return label("telegram", username)
    return label("telegram", user.get("id", "?"))


class TelegramAckListener:
    kind = "telegram"

    def __init__(self, notifier_id: str, config: TelegramConfig, http: httpx.AsyncClient, store: Store):
        self.id, self._config, self._http, self._store = notifier_id, config, http, store
        self.stream = ("telegram", config.api_url.rstrip("/"), config.token.get_secret_value())
        self._what = f"telegram ack listener {notifier_id!r}"
        self._offset: int | None = None

    async def poll_once(self, now: float) -> int:
        updates = await self._get_updates()
        acked = 0
        for update in updates:
            query = update.get("callback_query")
            if isinstance(query, dict):
                acked += await self._handle(query, now)
        ids = [u["update_id"] for u in updates if isinstance(u.get("update_id"), int)]
        if ids:  # confirmed only after every press is stored: a failed poll gets the same updates again
            self._offset = max(ids) + 1
        if acked:
            log.info("alerts_acknowledged", notifier_id=self.id, via="telegram", count=acked)
        return acked

    async def _handle(self, query: dict[str, Any], now: float) -> int:
        alert_id = alert_id_from(query.get("data"))
        if alert_id is None:
            await self._answer(query, None)
            return 0
        try:
            acked = await self._store.run(self._store.ack, alert_id, now, presser(query))
        except sqlite3.Error as exc:  # the update stays unconfirmed and comes again
            raise TransientError(f"{self._what}: store error {type(exc).__name__}") from None
        await self._answer(query, "Acknowledged" if acked else "Already acknowledged (or unknown)")
        return int(acked)

    async def _get_updates(self) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"timeout": 0, "limit": MAX_UPDATES, "allowed_updates": ["callback_query"]}
        if self._offset is not None:
            payload["offset"] = self._offset
        response, body = await self._call("getUpdates", payload)
        if response.status_code == 409:
            raise conflict(self._what, str(body.get("description") or ""))
        if response.status_code != 200 or body.get("ok") is not True:
            raise_error(self._what, response, body)
        result = body.get("result")
        if not isinstance(result, list):
            raise TransientError(f"{self._what}: getUpdates reply without a result list")
        return [u for u in result if isinstance(u, dict)]

    async def _answer(self, query: dict[str, Any], text: str | None) -> None:
        """Stops the button's spinner. Best effort: a press older than Telegram's answer window (restart) or a
        failed answer does not undo the acknowledgement."""
        payload: dict[str, Any] = {"callback_query_id": str(query.get("id", ""))}
        if text:
            payload["text"] = text
        try:
            response, body = await self._call("answerCallbackQuery", payload)
            if response.status_code != 200 or body.get("ok") is not True:
                raise_error(self._what, response, body)
        except ExternalError as exc:
            log.info("telegram_ack_answer_failed", notifier_id=self.id, error=str(exc))

    async def _call(self, method: str, payload: dict[str, Any]) -> tuple[httpx.Response, dict[str, Any]]:
        url = f"{self._config.api_url.rstrip('/')}/bot{self._config.token.get_secret_value()}/{method}"
        return await request_json(self._http, "POST", url, what=self._what, timeout=self._config.timeout,
                                  content=encode_json(payload), headers={"Content-Type": "application/json"})


def conflict(what: str, description: str) -> ExternalError:
    """409: a webhook is set on the bot (needs a human), or another process polls it (may pass)."""
    if "webhook" in description.lower():
        return PermanentError(f"{what}: HTTP 409, a webhook is set on this bot; acknowledging by button needs "
                              "getUpdates: remove the webhook (deleteWebhook) or use another bot")
    return TransientError(f"{what}: HTTP 409, another process is polling this bot's updates")
