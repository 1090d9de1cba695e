"""Posts and dedup: every post seen once, its mentions and alerts written with their outbox rows in one go."""
from __future__ import annotations

import json
from collections.abc import Sequence

from ..models import Alert, AuthorHistory, Post, Send
from ..routing.incidents import Incident
from ..sources.base import SourceState
from .connection import Transaction
from .incidents import Incidents
from .outbox import queue
from .sources import upsert_state


class Posts(Incidents):
    def unseen(self, posts: list[Post]) -> list[Post]:
        """The posts whose dedup key was never stored, each key once."""
        fresh: dict[str, Post] = {}
        for post in posts:
            fresh.setdefault(post.dedup_key, post)
        keys = list(fresh)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._read(f"SELECT dedup_key FROM post WHERE dedup_key IN ({marks})", chunk):
                fresh.pop(row[0], None)
        return list(fresh.values())

    def ingest(self, state: SourceState, posts: list[Post], alerts: list[tuple[Alert, dict[str, Send]]],
               now: float, incidents: Sequence[Incident] = ()) -> int:
        """One transaction: the posts, their mentions and alerts, one outbox row per destination (due at the
        given time, or now), the incidents they changed, the new source state. A post another source (or another
        daemon) stored meanwhile is skipped with its alerts: the unique key decides, not an earlier read.
        Returns the number of outbox rows written."""
        queued = 0
        with self._write() as conn:
            stored = set()
            for post in sorted(posts, key=lambda p: p.dedup_key):  # one order: two daemons never deadlock
                cur = conn.execute(
                    "INSERT INTO post (dedup_key, source_id, platform, post_id, url, author, first_seen_at)"
                    " VALUES (?,?,?,?,?,?,?) ON CONFLICT (dedup_key) DO NOTHING",
                    (post.dedup_key, post.source_id, post.platform, post.id, post.url, post.author.handle, now))
                if cur.rowcount:
                    stored.add(post.dedup_key)
            for alert, destinations in alerts:
                if alert.mention.post.dedup_key in stored:
                    queued += _insert_alert(conn, alert, destinations, now)
            for incident in incidents:
                self._upsert_incident(conn, incident)
            upsert_state(conn, state)
        return queued

    def recent_negative(self, since: float) -> dict[str, int]:
        """brand -> negative complaint/outage alerts since `since`: how fast trouble is arriving (velocity).
        INDEXED BY: given statistics, SQLite prefers a skip-scan of alert_recent, 50x slower at a million posts."""
        return {r[0]: r[1] for r in self._read(
            f"SELECT brand, COUNT(*) FROM alert {self.dialect.indexed_by('alert_created')} WHERE created_at>=?"
            " AND sentiment='negative' AND category IN ('complaint','outage') AND kind='mention'"
            " GROUP BY brand", (since,))}

    def author_history(self, handles: list[str]) -> dict[str, AuthorHistory]:
        """Earlier alerts per author handle (complaints = complaint or outage), for the handles given."""
        handles = sorted({h for h in handles if h})
        found: dict[str, AuthorHistory] = {}
        for i in range(0, len(handles), 500):
            chunk = handles[i:i + 500]
            for row in self._read(
                    "SELECT author, COUNT(*), SUM(CASE WHEN category IN ('complaint','outage') THEN 1 ELSE 0 END)"
                    f" FROM alert WHERE author IN ({','.join('?' * len(chunk))}) GROUP BY author", chunk):
                found[row[0]] = AuthorHistory(mentions=row[1], complaints=row[2] or 0)
        return found


def _insert_alert(conn: Transaction, alert: Alert, destinations: dict[str, Send], now: float) -> int:
    mention, assessment = alert.mention, alert.assessment
    payload = alert.to_dict()
    matches = json.dumps(payload["mention"]["matches"], ensure_ascii=False)
    inserted = conn.execute(
        "INSERT INTO mention (dedup_key, brand, competitor, matches, created_at) VALUES (?,?,?,?,?)"
        " ON CONFLICT (brand, dedup_key) DO NOTHING RETURNING id",
        (mention.post.dedup_key, mention.brand, int(mention.competitor), matches, now)).fetchone()
    if inserted is None:
        return 0
    conn.execute(
        "INSERT INTO alert (id, mention_id, brand, severity, sentiment, category, issue, urgent, language, author,"
        " respond_by, created_at, payload, thread, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (id) DO NOTHING",
        (alert.id, inserted[0], mention.brand, assessment.severity, assessment.sentiment, assessment.category,
         assessment.issue, int(assessment.urgent), assessment.language, mention.post.author.handle,
         alert.respond_by.timestamp(), now, json.dumps(payload, ensure_ascii=False), alert.thread or None,
         alert.kind))
    return sum(queue(conn, alert.id, dest, now, send) for dest, send in destinations.items())
