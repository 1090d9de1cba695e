"""What every acknowledgement listener shares: capped JSON requests, store calls off the event loop, `by` labels."""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any, Protocol

import httpx

from ..errors import PermanentError, TransientError
from ..http import send_capped
from ..store import Store

ACK_WINDOW = 7 * 86400.0      # deliveries older than this are no longer watched for reactions
MAX_BODY = 2_000_000          # any reply of a chat API we poll, capped
_LABEL = re.compile(r"[^\w@:.\-+=/]")


class AckListener(Protocol):
    """Reads acknowledgements from one place. `poll_once(now)` returns how many alerts it acknowledged and
    raises monitor.errors kinds (messages without secrets); a poll that fails is simply repeated later, so a
    listener moves its position on only after the acknowledgements are stored. `kind:id` names it in logs,
    `status` and metrics. A listener may also set `stream`: of listeners with equal streams (one Telegram bot's
    updates allow one reader) only the first runs."""
    id: str
    kind: str

    async def poll_once(self, now: float) -> int: ...


async def request_json(http: httpx.AsyncClient, method: str, url: str, *, what: str, timeout: float,
                       **kwargs: Any) -> tuple[httpx.Response, dict[str, Any]]:
    """A capped request whose failures name the listener, never the (token-bearing) URL; the body as a dict."""
    try:
        response, raw = await send_capped(http, method, url, max_bytes=MAX_BODY, timeout=timeout, **kwargs)
    except PermanentError:
        raise PermanentError(f"{what}: reply larger than {MAX_BODY} bytes") from None
    except TransientError:
        raise TransientError(f"{what}: network error or timeout after {timeout:g}s") from None
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    return response, body if isinstance(body, dict) else {}


def label(kind: str, who: object) -> str:
    """`kind:who` for acked_by, from text the chat service gave us: printable, short."""
    text = _LABEL.sub("_", str(who))[:80]
    return f"{kind}:{text or '?'}"


def ack_all(store: Store, notifier_id: str, targets: Iterable[tuple[str, str]], now: float,
            window: float = ACK_WINDOW) -> int:
    """On the store's thread: acknowledge the alerts behind (remote message id, by) pairs; returns how many
    were newly acknowledged. A digest message stands for several alerts: all of them are acknowledged."""
    targets = list(targets)
    if not targets:
        return 0
    try:
        watched: dict[str, list[str]] = {}
        for alert_id, remote_id in store.open_deliveries(notifier_id, now - window):
            watched.setdefault(remote_id, []).append(alert_id)
        acked = 0
        for remote_id, by in targets:
            alert_ids = watched.get(remote_id)
            if alert_ids is None:
                older = store.alert_for_remote_id(notifier_id, remote_id)
                alert_ids = [older] if older else []
            acked += sum(store.ack(alert_id, now, by) for alert_id in alert_ids)
        return acked
    except sqlite3.Error as exc:  # e.g. locked for longer than the busy timeout: the next poll tries again
        raise TransientError(f"ack listener {notifier_id!r}: store error {type(exc).__name__}") from None
