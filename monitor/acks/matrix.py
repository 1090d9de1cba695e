"""Acknowledge by reacting in Matrix: any reaction (any emoji) to an alert's message, by anyone but the bot.

`GET /_matrix/client/v3/sync` with an inline filter (only `m.reaction` events of the alert room) and timeout=0:
one short request per poll, the `since` token kept in memory. The first sync of a process has no token: it
returns the room's latest reactions, which are honoured too (an alert reacted to while the daemon was down is
still acknowledged), and its `next_batch` becomes the token.
"""
from __future__ import annotations

import json
from typing import Any

import httpx
import structlog

from ..errors import TransientError
from ..notifiers.matrix import MatrixConfig, error_for
from ..store import Store
from .common import ACK_WINDOW, ack_all, label, request_json

log = structlog.get_logger()

TIMELINE_LIMIT = 100


def sync_filter(room_id: str, limit: int = TIMELINE_LIMIT) -> str:
    nothing = {"not_types": ["*"]}
    return json.dumps({
        "presence": nothing, "account_data": nothing,
        "room": {"rooms": [room_id], "timeline": {"types": ["m.reaction"], "limit": limit},
                 "state": {**nothing, "lazy_load_members": True}, "ephemeral": nothing, "account_data": nothing},
    }, separators=(",", ":"))


def reactions_in(body: dict[str, Any], room_id: str, me: str) -> list[tuple[str, str]]:
    """(reacted-to event id, sender) of every annotation in the room's timeline not sent by `me`."""
    room = (((body.get("rooms") or {}).get("join") or {}).get(room_id) or {})
    events = (room.get("timeline") or {}).get("events") or []
    found = []
    for event in events if isinstance(events, list) else ():
        if not isinstance(event, dict) or event.get("type") != "m.reaction":
            continue
        relation = (event.get("content") or {}).get("m.relates_to") or {}
        target, sender = relation.get("event_id"), event.get("sender")
        if relation.get("rel_type") == "m.annotation" and isinstance(target, str) and isinstance(sender, str) \
                and sender != me:
            found.append((target, sender))
    return found


class MatrixAckListener:
    kind = "matrix"

    def __init__(self, notifier_id: str, config: MatrixConfig, http: httpx.AsyncClient, store: Store,
                 window: float = ACK_WINDOW):
        self.id, self._config, self._http, self._store, self._window = notifier_id, config, http, store, window
        self._what = f"matrix ack listener {notifier_id!r}"
        self._since: str | None = None
        self._me: str | None = None

    async def poll_once(self, now: float) -> int:
        if self._me is None:
            self._me = await self._whoami()
        body = await self._sync()
        next_batch = body.get("next_batch")
        if not isinstance(next_batch, str) or not next_batch:
            raise TransientError(f"{self._what}: sync reply without next_batch")
        room = (((body.get("rooms") or {}).get("join") or {}).get(self._config.room_id) or {})
        if (room.get("timeline") or {}).get("limited") and self._since is not None:
            log.warning("matrix_ack_reactions_skipped", notifier_id=self.id, limit=TIMELINE_LIMIT)
        targets = [(event_id, label("matrix", sender))
                   for event_id, sender in reactions_in(body, self._config.room_id, self._me)]
        acked = await self._store.run(ack_all, self._store, self.id, targets, now, self._window)
        self._since = next_batch  # only after every ack is stored: a failed poll is simply repeated
        if acked:
            log.info("alerts_acknowledged", notifier_id=self.id, via="matrix", count=acked)
        return acked

    async def _whoami(self) -> str:
        body = await self._get("/_matrix/client/v3/account/whoami", {})
        user_id = body.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise TransientError(f"{self._what}: whoami reply without user_id")
        return user_id

    async def _sync(self) -> dict[str, Any]:
        params = {"filter": sync_filter(self._config.room_id), "timeout": "0", "set_presence": "offline"}
        if self._since is not None:
            params["since"] = self._since
        return await self._get("/_matrix/client/v3/sync", params)

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._config.access_token.get_secret_value()}"}
        response, body = await request_json(self._http, "GET", self._config.homeserver + path, what=self._what,
                                            timeout=self._config.timeout, params=params, headers=headers)
        if response.status_code != 200:
            raise error_for(response, body, self._what)
        return body
