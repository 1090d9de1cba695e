"""Alerts stored and delivered the way the daemon does it: ingest, claim the outbox row, send, mark_sent."""
from __future__ import annotations

import sqlite3

from monitor.models import Alert, Send
from monitor.sources.base import SourceState
from monitor.store import Store
from tests.factories import make_alert, make_post

NOW = 1_800_000_000.0


def ingest(store: Store, notifier_id: str, count: int = 1, start: int = 1, now: float = NOW) -> list[Alert]:
    alerts = [make_alert(make_post(n, text=f"Acme is down again ({n})")) for n in range(start, start + count)]
    store.ingest(SourceState(source_id="feed"), [a.mention.post for a in alerts],
                 [(a, {notifier_id: Send()}) for a in alerts], now)
    return alerts


async def deliver(store: Store, notifier, notifier_id: str, count: int = 1, start: int = 1,
                  now: float = NOW) -> dict[str, str]:
    """alert id -> the destination's message id, for `count` fresh alerts sent by the real notifier."""
    ingest(store, notifier_id, count, start, now)
    sent = {}
    while (row := store.claim(notifier_id, now, 60.0)) is not None:
        delivery = await notifier.send(row.alert(), row.idempotency_key)
        assert store.mark_sent(row, now, delivery.status_code, delivery.remote_id)
        sent[row.alert_id] = delivery.remote_id
    assert len(sent) == count
    return sent


def acked(store: Store, alert_id: str) -> tuple[float | None, str | None]:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute("SELECT acked_at, acked_by FROM alert WHERE id=?", (alert_id,)).fetchone()
    finally:
        conn.close()
