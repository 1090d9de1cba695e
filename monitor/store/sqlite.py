"""SQLite store: poll state, seen posts, mentions, alerts and the transactional outbox.

WAL + synchronous=FULL + BEGIN IMMEDIATE for every write; one connection used from one thread
(`await store.run(store.method, ...)` from asyncio). Never hold a write transaction across network I/O.

A failing database (disk full, read-only, locked for good, corrupt, the file deleted or replaced) raises
StoreError naming the file; the store remembers the failure until a write succeeds again, and `check()`
reports it, so the daemon's health check fails and systemd's watchdog restarts it.
"""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import structlog

from ..models import Alert, AuthorHistory, Post, Send
from ..routing.incidents import Incident, Report, report_words
from ..runtime import counters
from ..sources.base import SourceState

if TYPE_CHECKING:
    from ..routing.escalation import Window
    from ..settings import RetentionConfig

T = TypeVar("T")
log = structlog.get_logger()
_STATE_COLUMNS = [f.name for f in fields(SourceState)]


@dataclass(frozen=True)
class OutboxRow:
    """One claimed delivery: a single alert, or (for a digest route) every due alert of its batch."""
    ids: tuple[int, ...]
    alert_ids: tuple[str, ...]
    notifier_id: str
    attempts: int
    lease_token: str
    created_at: float
    payloads: tuple[str, ...]
    batch: str | None = None
    note: str | None = None

    @property
    def alert_id(self) -> str:
        return self.alert_ids[0] if len(self.alert_ids) == 1 else f"{self.alert_ids[0]}+{len(self.alert_ids) - 1}"

    @property
    def idempotency_key(self) -> str:
        return idempotency_key("\0".join(self.alert_ids), self.notifier_id)

    def alert(self) -> Alert:
        alerts = [Alert.from_dict(json.loads(p)) for p in self.payloads]
        if self.batch is None:
            return replace(alerts[0], escalation=self.note or "")
        from ..routing.digest import digest_alert
        return digest_alert(alerts, datetime.now(timezone.utc))


ISSUE_SCHEMA = 7  # migrations/0007_alert_issue.sql


class StoreBusyError(OSError):
    """The store is locked by another brand-monitor process."""


class StoreError(Exception):
    """The database cannot be used; the message names the file and the reason."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"store {path}: {reason}")
        self.reason = reason


def idempotency_key(alert_id: str, notifier_id: str) -> str:
    return hashlib.sha256(f"{alert_id}\0{notifier_id}".encode()).hexdigest()[:32]


class Store:
    def __init__(self, path: str | Path, readonly: bool = False):
        """Open (creating when needed) the database; `readonly` is for inspecting a live daemon's state.
        Raises StoreError when the file or its folder cannot be used."""
        self.path = Path(path)
        try:
            self._conn = self._connect(readonly)
            self._identity = _identity(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(self.path, _reason(exc)) from None
        self.failure: str | None = None  # why the last operation failed, until a write succeeds again
        self._lock_file = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        if readonly:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("SELECT COUNT(*) FROM sqlite_master")  # "file is not a database" here, not later
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "journal_size_limit=67108864"):
                conn.execute(f"PRAGMA {pragma}")
        conn.row_factory = sqlite3.Row
        return conn

    async def run(self, method: Callable[..., T], *args: Any) -> T:
        """Run a store method on the store's own thread, so the event loop never blocks on disk."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, method, args)

    def _call(self, method: Callable[..., T], args: tuple) -> T:
        try:
            return method(*args)
        except StoreError as exc:
            self._failed(exc.reason)
            raise
        except (sqlite3.Error, OSError) as exc:
            if not _is_failure(exc):
                raise
            self._failed(_reason(exc))
            raise StoreError(self.path, _reason(exc)) from exc

    def _failed(self, reason: str) -> None:
        if self.failure is None:
            log.error("store_failed", store=str(self.path), error=reason)
        self.failure = reason

    def check(self) -> None:
        """Raise StoreError while the store cannot be trusted: an operation failed and no write has succeeded
        since, or the file at our path is no longer the one we have open. Run it through `run`."""
        now = _identity(self.path)
        if now != self._identity:
            raise StoreError(self.path, "the file was deleted while in use" if now is None else
                             "the file was replaced while in use")
        if self.failure is not None:
            raise StoreError(self.path, self.failure)
        self._conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._conn.close()
        if self._lock_file is not None:
            self._lock_file.close()

    def lock(self) -> None:
        """Claim the store for this process; a second daemon (or `once`) on the same store is refused,
        which is what makes recover_in_flight() safe."""
        try:
            handle = open(self.path.with_name(self.path.name + ".lock"), "a")
        except OSError as exc:
            raise StoreError(self.path, f"cannot create its lock file: {exc.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreBusyError(f"another brand-monitor process is using {self.path}") from None
        self._lock_file = handle

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:  # SQLite rolls back by itself on some errors (disk full, I/O)
                self._conn.execute("ROLLBACK")
            raise
        if self.failure is not None and _identity(self.path) == self._identity:  # a lost file stays lost
            log.info("store_recovered", store=str(self.path), after=self.failure)
            self.failure = None

    # -- schema ---------------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply numbered migrations newer than PRAGMA user_version; return the resulting version."""
        version = self.schema_version()
        folder = resources.files("monitor.store") / "migrations"
        for script in sorted(folder.iterdir(), key=lambda p: p.name):
            number = int(script.name.split("_", 1)[0])
            if number <= version:
                continue
            try:
                self._conn.executescript(f"BEGIN IMMEDIATE;\n{script.read_text()}\n"
                                         f"PRAGMA user_version={number};\nCOMMIT;")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            version = number
        return version

    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    # -- sources ----------------------------------------------------------------------------------------

    def load_source_state(self, source_id: str) -> SourceState:
        row = self._conn.execute("SELECT * FROM source_state WHERE source_id=?", (source_id,)).fetchone()
        return _state_from_row(row) if row else SourceState(source_id=source_id)

    def source_states(self) -> list[SourceState]:
        return [_state_from_row(r) for r in self._conn.execute("SELECT * FROM source_state ORDER BY source_id")]

    def save_source_state(self, state: SourceState) -> None:
        with self._write() as conn:
            _upsert_state(conn, state)

    def unseen(self, posts: list[Post]) -> list[Post]:
        """The posts whose dedup key was never stored, each key once."""
        fresh: dict[str, Post] = {}
        for post in posts:
            fresh.setdefault(post.dedup_key, post)
        keys = list(fresh)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for (key,) in self._conn.execute(f"SELECT dedup_key FROM post WHERE dedup_key IN ({marks})", chunk):
                fresh.pop(key, None)
        return list(fresh.values())

    def ingest(self, state: SourceState, posts: list[Post], alerts: list[tuple[Alert, dict[str, Send]]],
               now: float, incidents: Sequence[Incident] = ()) -> int:
        """One transaction: the posts, their mentions and alerts, one outbox row per destination (due at the
        given time, or now), the incidents they changed, the new source state. A post another source stored
        meanwhile is skipped with its alerts. Returns the number of outbox rows written."""
        queued = 0
        with self._write() as conn:
            stored = set()
            for post in posts:
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
                _upsert_incident(conn, incident)
            _upsert_state(conn, state)
        return queued

    def recent_negative(self, since: float) -> dict[str, int]:
        """brand -> negative complaint/outage alerts since `since`: how fast trouble is arriving (velocity).
        INDEXED BY: given statistics, SQLite prefers a skip-scan of alert_recent, 50x slower at a million posts."""
        return dict(self._conn.execute(
            "SELECT brand, COUNT(*) FROM alert INDEXED BY alert_created WHERE created_at>=? AND sentiment='negative'"
            " AND category IN ('complaint','outage') AND id NOT LIKE 'incident-%' GROUP BY brand", (since,)))

    def incident_context(self, keys: set[tuple[str, str]], since: float
                         ) -> tuple[dict[tuple[str, str], Incident], dict[tuple[str, str], list[Report]]]:
        """For (brand, category) keys: the incidents still open (updated since `since`) and the recent
        reports (negative alerts since `since`) that may join with a new one to open an incident."""
        incidents: dict[tuple[str, str], Incident] = {}
        reports: dict[tuple[str, str], list[Report]] = {}
        for brand, category in keys:
            row = self._conn.execute("SELECT * FROM incident WHERE brand=? AND category=? AND updated_at>=?"
                                     " ORDER BY updated_at DESC LIMIT 1", (brand, category, since)).fetchone()
            if row is not None:
                incidents[(brand, category)] = Incident(
                    **{**dict(row), "destinations": tuple(json.loads(row["destinations"]))})
                continue
            rows = self._conn.execute("SELECT id, created_at, payload FROM alert WHERE brand=? AND category=?"
                                      " AND sentiment='negative' AND created_at>=? ORDER BY created_at DESC LIMIT 200",
                                      (brand, category, since))
            reports[(brand, category)] = [
                Report(r["id"], r["created_at"], report_words(Alert.from_dict(json.loads(r["payload"]))))
                for r in rows if not r["id"].startswith("incident-")]
        return incidents, reports

    def author_history(self, handles: list[str]) -> dict[str, AuthorHistory]:
        """Earlier alerts per author handle (complaints = complaint or outage), for the handles given."""
        handles = sorted({h for h in handles if h})
        found: dict[str, AuthorHistory] = {}
        for i in range(0, len(handles), 500):
            chunk = handles[i:i + 500]
            for row in self._conn.execute(
                    f"SELECT author, COUNT(*), SUM(category IN ('complaint','outage')) FROM alert"
                    f" WHERE author IN ({','.join('?' * len(chunk))}) GROUP BY author", chunk):
                found[row[0]] = AuthorHistory(mentions=row[1], complaints=row[2] or 0)
        return found

    # -- retention ----------------------------------------------------------------------------------------

    def prune(self, now: float, keep: RetentionConfig, limit: int = 500) -> dict[str, int]:
        """One small batch of each retention step, each its own short transaction; returns the rows each step
        touched (a step that touched `limit` rows has more to do). Freed pages are reused by new rows, so the file
        stays the same size at a steady rate instead of growing."""
        return {"expired": self._expire_open(now - keep.open_alerts, now, limit),
                "alerts": self._delete_alerts(now - keep.posts, now - keep.dead_letters, limit),
                "mentions": self._delete(
                    "DELETE FROM mention WHERE id IN (SELECT m.id FROM mention m WHERE m.created_at<? AND NOT EXISTS"
                    " (SELECT 1 FROM alert a WHERE a.mention_id=m.id) LIMIT ?)", now - keep.posts, limit),
                "posts": self._delete(
                    "DELETE FROM post WHERE dedup_key IN (SELECT p.dedup_key FROM post p WHERE p.first_seen_at<? AND"
                    " NOT EXISTS (SELECT 1 FROM mention m WHERE m.dedup_key=p.dedup_key) LIMIT ?)",
                    now - keep.posts, limit),
                "incidents": self._delete("DELETE FROM incident WHERE id IN (SELECT id FROM incident WHERE"
                                          " updated_at<? LIMIT ?)", now - keep.incidents, limit)}

    def _expire_open(self, before: float, now: float, limit: int) -> int:
        """Unanswered alerts created before `before` are closed as "expired": escalation stops, status stops
        counting them as open."""
        with self._write() as conn:
            return conn.execute("UPDATE alert SET acked_at=?, acked_by='expired' WHERE id IN (SELECT id FROM alert"
                                " WHERE acked_at IS NULL AND created_at<? LIMIT ?)", (now, before, limit)).rowcount

    def _delete_alerts(self, before: float, dead_before: float, limit: int) -> int:
        """Closed alerts created before `before` whose deliveries are over (sent, or dead before `dead_before`),
        with their outbox rows, delivery records and mentions."""
        with self._write() as conn:
            rows = conn.execute(
                "SELECT a.id, a.mention_id FROM alert a WHERE a.created_at<? AND a.acked_at IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id=a.id AND (o.status IN ('pending','sending')"
                " OR (o.status='dead' AND o.created_at>=?))) LIMIT ?", (before, dead_before, limit)).fetchall()
            for alert_id, mention_id in rows:
                conn.execute("DELETE FROM delivery WHERE outbox_id IN (SELECT id FROM outbox WHERE alert_id=?)",
                             (alert_id,))
                conn.execute("DELETE FROM outbox WHERE alert_id=?", (alert_id,))
                conn.execute("DELETE FROM alert WHERE id=?", (alert_id,))
                conn.execute("DELETE FROM mention WHERE id=? AND NOT EXISTS (SELECT 1 FROM alert WHERE mention_id=?)",
                             (mention_id, mention_id))
        return len(rows)

    def _delete(self, sql: str, before: float, limit: int) -> int:
        with self._write() as conn:
            return conn.execute(sql, (before, limit)).rowcount

    # -- outbox -------------------------------------------------------------------------------------------

    def claim(self, notifier_id: str, now: float, lease: float) -> OutboxRow | None:
        """Lease the oldest due row for one destination (pending and due, or sending with an expired lease);
        a row of a batch brings every due row of that batch with it."""
        token = uuid.uuid4().hex
        with self._write() as conn:
            first = conn.execute(  # each half reads an index range for its status only, never the sent rows
                "UPDATE outbox SET status='sending', attempts=attempts+1, lease_until=?, lease_token=?"
                " WHERE id = (SELECT MIN(id) FROM ("
                "   SELECT MIN(id) AS id FROM outbox WHERE notifier_id=? AND status='pending' AND next_attempt_at<=?"
                "   UNION ALL"
                "   SELECT MIN(id) FROM outbox WHERE notifier_id=? AND status='sending' AND lease_until<?))"
                " RETURNING id, alert_id, attempts, created_at, batch, note",
                (now + lease, token, notifier_id, now, notifier_id, now)).fetchone()
            if first is None:
                return None
            rows = [first]
            if first["batch"] is not None:
                rows += conn.execute(
                    "UPDATE outbox SET status='sending', attempts=attempts+1, lease_until=?, lease_token=?"
                    " WHERE notifier_id=? AND batch=? AND id<>? AND"
                    "   ((status='pending' AND next_attempt_at<=?) OR (status='sending' AND lease_until<?))"
                    " RETURNING id, alert_id, attempts, created_at, batch",
                    (now + lease, token, notifier_id, first["batch"], first["id"], now, now)).fetchall()
                rows.sort(key=lambda r: r["id"])
            payloads = [conn.execute("SELECT payload FROM alert WHERE id=?", (r["alert_id"],)).fetchone()[0]
                        for r in rows]
        return OutboxRow(ids=tuple(r["id"] for r in rows), alert_ids=tuple(r["alert_id"] for r in rows),
                         notifier_id=notifier_id, attempts=max(r["attempts"] for r in rows), lease_token=token,
                         created_at=min(r["created_at"] for r in rows), payloads=tuple(payloads),
                         batch=first["batch"], note=first["note"])

    def thread_parent(self, notifier_id: str, thread: str) -> str | None:
        """This destination's id (e.g. Slack ts) of the first delivered message of a thread."""
        row = self._conn.execute(
            "SELECT d.remote_id FROM alert a JOIN outbox o ON o.alert_id=a.id JOIN delivery d ON d.outbox_id=o.id"
            " WHERE a.thread=? AND o.notifier_id=? AND d.outcome='sent' AND d.remote_id IS NOT NULL"
            " ORDER BY d.at LIMIT 1", (thread, notifier_id)).fetchone()
        return row[0] if row else None

    def next_due_at(self, notifier_id: str) -> float | None:
        return self._conn.execute(
            "SELECT MIN(CASE status WHEN 'pending' THEN next_attempt_at ELSE lease_until END) FROM outbox"
            " WHERE notifier_id=? AND status IN ('pending','sending')", (notifier_id,)).fetchone()[0]

    def mark_sent(self, row: OutboxRow, now: float, status_code: int | None, remote_id: str | None) -> bool:
        """Record success; False when our lease was lost (another sender took the row over)."""
        with self._write() as conn:
            cur = conn.execute("UPDATE outbox SET status='sent', sent_at=?, lease_until=NULL, last_error=NULL"
                               f" WHERE id IN ({_marks(row)}) AND lease_token=?", (now, *row.ids, row.lease_token))
            _log_attempt(conn, row, now, "sent", status_code, remote_id, None)
        return cur.rowcount == len(row.ids)

    def mark_retry(self, row: OutboxRow, now: float, next_attempt_at: float, error: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET status='pending', next_attempt_at=?, lease_until=NULL, last_error=?"
                         f" WHERE id IN ({_marks(row)}) AND lease_token=?",
                         (next_attempt_at, error, *row.ids, row.lease_token))
            _log_attempt(conn, row, now, "retry", None, None, error)

    def mark_dead(self, row: OutboxRow, now: float, error: str, fallback: str | None) -> None:
        """Dead-letter the row; queue the alert for the fallback destination, if there is one."""
        with self._write() as conn:
            conn.execute(f"UPDATE outbox SET status='dead', lease_until=NULL, last_error=? WHERE id IN ({_marks(row)})"
                         " AND lease_token=?", (error, *row.ids, row.lease_token))
            _log_attempt(conn, row, now, "dead", None, None, error)
            for alert_id in row.alert_ids if fallback else ():
                _queue(conn, alert_id, fallback, now)

    def recover_in_flight(self) -> int:
        """At start-up (with the store locked) rows left 'sending' belong to a process that died: make
        them due now instead of waiting for their leases to expire."""
        with self._write() as conn:
            cur = conn.execute("UPDATE outbox SET status='pending', lease_until=NULL, next_attempt_at=0"
                               " WHERE status='sending'")
        return cur.rowcount

    def release(self, row: OutboxRow) -> None:
        """Give a claimed but unsent row back (graceful stop), without counting the attempt."""
        with self._write() as conn:
            conn.execute("UPDATE outbox SET status='pending', attempts=attempts-1, lease_until=NULL"
                         f" WHERE id IN ({_marks(row)}) AND lease_token=? AND status='sending'",
                         (*row.ids, row.lease_token))

    # -- acknowledgement listeners ------------------------------------------------------------------------

    def save_listener_state(self, listener: str, ok: bool, since: float, error: str | None, failures: int = 0,
                            last_ok_at: float | None = None, polled_at: float | None = None) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO listener_state (listener, ok, since, last_error, failures, last_ok_at, polled_at)"
                         " VALUES (?,?,?,?,?,?,?) ON CONFLICT (listener) DO UPDATE SET ok=excluded.ok,"
                         " since=excluded.since, last_error=excluded.last_error, failures=excluded.failures,"
                         " last_ok_at=excluded.last_ok_at, polled_at=excluded.polled_at",
                         (listener, int(ok), since, error, failures, last_ok_at, polled_at))

    def forget_listeners_except(self, listeners: Sequence[str]) -> None:
        """Drop the state of listeners no longer configured (after a start or reload)."""
        with self._write() as conn:
            conn.execute(f"DELETE FROM listener_state WHERE listener NOT IN ({','.join('?' * len(listeners))})",
                         tuple(listeners))

    def listener_states(self) -> list[dict[str, Any]]:
        """Every column there is: `status` reads stores of daemons not yet restarted after an upgrade too."""
        return [dict(r, ok=bool(r["ok"])) for r in
                self._conn.execute("SELECT * FROM listener_state ORDER BY listener")]

    # -- reporting ------------------------------------------------------------------------------------------

    def outbox_counts(self, sent_since: float = 0.0) -> dict[str, dict[str, int]]:
        """notifier id -> status -> number of rows; "sent" counts the rows sent since `sent_since` only."""
        counts: dict[str, dict[str, int]] = {}
        for r in self._conn.execute(
                "SELECT notifier_id, status, COUNT(*) FROM outbox WHERE status IN ('pending','sending','dead')"
                " GROUP BY notifier_id, status"):
            counts.setdefault(r[0], {})[r[1]] = r[2]
        for r in self._conn.execute("SELECT notifier_id, COUNT(*) FROM outbox WHERE sent_at>=? GROUP BY notifier_id",
                                    (sent_since,)):  # only sent rows have sent_at: an index-only count
            counts.setdefault(r[0], {})["sent"] = r[1]
        return counts

    def dead_letters(self, limit: int = 10) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute(
            "SELECT id, alert_id, notifier_id, attempts, last_error FROM outbox WHERE status='dead'"
            " ORDER BY id DESC LIMIT ?", (limit,))]

    def open_alerts(self, now: float) -> dict[str, int]:
        row = self._conn.execute("SELECT COUNT(*), SUM(respond_by < ?) FROM alert WHERE acked_at IS NULL",
                                 (now,)).fetchone()
        return {"open": row[0], "late": row[1] or 0}

    def open_alerts_by_issue(self) -> dict[str, dict[str, int]]:
        """Unacknowledged alerts per issue type, and how many of them are urgent (schema 7 on)."""
        return {issue or "unknown": {"open": n, "urgent": urgent or 0} for issue, n, urgent in self._conn.execute(
            "SELECT issue, COUNT(*), SUM(urgent) FROM alert WHERE acked_at IS NULL GROUP BY issue"
            " ORDER BY COUNT(*) DESC")}

    def alert_ids_starting(self, prefix: str, limit: int = 2) -> list[str]:
        """Alert ids that start with `prefix` (what people type: the short id shown in alerts and status)."""
        if not re.fullmatch(r"[0-9a-z-]{4,64}", prefix):
            return []
        return [r[0] for r in self._conn.execute("SELECT id FROM alert WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                                                 (prefix, prefix + "\U0010ffff", limit))]

    def open_alert_list(self, now: float, limit: int = 10) -> list[dict[str, Any]]:
        """The unacknowledged alerts whose respond-by comes first, for `status`."""
        return [{"id": r[0], "severity": r[1], "brand": r[2], "issue": r[3], "urgent": bool(r[4]),
                 "respond_by": r[5], "late": r[5] < now} for r in self._conn.execute(
            "SELECT id, severity, brand, issue, urgent, respond_by FROM alert WHERE acked_at IS NULL"
            " ORDER BY respond_by LIMIT ?", (limit,))]

    def ack(self, alert_id: str, now: float, by: str = "cli") -> bool:
        """Acknowledge an alert (stops its escalation); False when unknown or already acknowledged."""
        with self._write() as conn:
            acked = conn.execute("UPDATE alert SET acked_at=?, acked_by=? WHERE acked_at IS NULL AND (id=? OR"
                                 " thread=(SELECT thread FROM alert WHERE id=? AND thread IS NOT NULL))"
                                 " RETURNING id, created_at, severity", (now, by, alert_id, alert_id)).fetchall()
        for row in acked:
            counters.acknowledged(row[2], now - row[1])
            log.info("alert_acknowledged", alert_id=row[0], by=by, severity=row[2],
                     seconds_to_ack=round(now - row[1], 1))
        return bool(acked)

    def escalation_candidates(self, window: Window) -> list[tuple[str, float, int, tuple[str, ...]]]:
        """(alert id, created at, escalations so far, routes) of unacknowledged alerts in the window that were
        sent somewhere (a report folded into an incident was not), an incident counting once (its first notice):
        one indexed range, only the rows near due, their routes read without parsing the whole payload."""
        rows = self._conn.execute(
            "SELECT a.id, a.created_at, a.escalations, json_extract(a.payload, '$.routes') FROM alert a"
            " WHERE a.acked_at IS NULL AND a.created_at>=? AND a.escalations<?"
            " AND a.created_at + ? + a.escalations * ? <= ?"
            " AND EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id=a.id)"
            " AND (a.thread IS NULL OR a.created_at=(SELECT MIN(b.created_at) FROM alert b INDEXED BY alert_thread"
            "   WHERE b.thread=a.thread))",  # else SQLite may walk alert_created in order to find the minimum
            (window.since, window.rounds, window.after, window.repeat, window.now))
        return [(r[0], r[1], r[2], tuple(json.loads(r[3]))) for r in rows]

    def escalate(self, alert_id: str, round_: int, destinations: Sequence[str], note: str, now: float) -> int:
        """Queue escalation number `round_` of an alert; a no-op if that round was queued already."""
        with self._write() as conn:
            cur = conn.execute("UPDATE alert SET escalations=?, escalated_at=? WHERE id=? AND escalations=?",
                               (round_, now, alert_id, round_ - 1))
            if not cur.rowcount:
                return 0
            return sum(_queue(conn, alert_id, dest, now, note=note, key=f"{alert_id}#escalation{round_}")
                       for dest in destinations)

    def open_deliveries(self, notifier_id: str, since: float) -> list[tuple[str, str]]:
        """(alert id, remote message id) of alerts delivered to this destination since `since` and not yet
        acknowledged: what an acknowledgement listener watches for reactions or button presses."""
        return [(r[0], r[1]) for r in self._conn.execute(
            "SELECT a.id, d.remote_id FROM alert a JOIN outbox o ON o.alert_id=a.id JOIN delivery d ON d.outbox_id=o.id"
            " WHERE o.notifier_id=? AND d.outcome='sent' AND d.remote_id IS NOT NULL AND a.acked_at IS NULL"
            " AND d.at>=? ORDER BY d.at", (notifier_id, since))]

    def open_alerts_for_posts(self, platform: str, post_ids: Sequence[str]) -> list[str]:
        """Unacknowledged alerts about these posts (by the platform's own post id)."""
        if not post_ids:
            return []
        marks = ",".join("?" * len(post_ids))
        rows = self._conn.execute(
            "SELECT a.id FROM post p JOIN mention m ON m.dedup_key=p.dedup_key JOIN alert a ON a.mention_id=m.id"
            f" WHERE p.platform=? AND p.post_id IN ({marks}) AND a.acked_at IS NULL", (platform, *post_ids))
        return [r[0] for r in rows]

    def alert_for_remote_id(self, notifier_id: str, remote_id: str) -> str | None:
        """The alert a destination's message id belongs to (e.g. the Matrix event a reaction points at)."""
        row = self._conn.execute(
            "SELECT o.alert_id FROM delivery d JOIN outbox o ON o.id=d.outbox_id"
            " WHERE o.notifier_id=? AND d.remote_id=? AND d.outcome='sent' LIMIT 1",
            (notifier_id, remote_id)).fetchone()
        return row[0] if row else None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _is_failure(exc: BaseException) -> bool:
    """The database or its disk failed (full, read-only, locked, I/O, corrupt, not a database), as opposed to
    a query breaking a constraint or misusing the API: that is a bug, which a restart would not cure."""
    return isinstance(exc, (sqlite3.OperationalError, OSError)) or type(exc) is sqlite3.DatabaseError


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror or str(exc)
    if str(exc) == "unable to open database file":
        return f"{exc} (does its folder exist, and may this user write there?)"
    return str(exc)


def _upsert_incident(conn: sqlite3.Connection, incident: Incident) -> None:
    conn.execute(
        "INSERT INTO incident (id, brand, category, opened_at, updated_at, members, notified_members, language,"
        " destinations) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET updated_at=excluded.updated_at,"
        " members=MAX(members, excluded.members), notified_members=MAX(notified_members, excluded.notified_members)",
        (incident.id, incident.brand, incident.category, incident.opened_at, incident.updated_at, incident.members,
         incident.notified_members, incident.language, json.dumps(list(incident.destinations))))


def _state_from_row(row: sqlite3.Row) -> SourceState:
    values = dict(row)
    values["parked"] = bool(values["parked"])
    return SourceState(**values)


def _upsert_state(conn: sqlite3.Connection, state: SourceState) -> None:
    values = asdict(state)
    values["parked"] = int(state.parked)
    columns = ", ".join(_STATE_COLUMNS)
    marks = ", ".join(f":{c}" for c in _STATE_COLUMNS)
    updates = ", ".join(f"{c}=excluded.{c}" for c in _STATE_COLUMNS[1:])
    conn.execute(f"INSERT INTO source_state ({columns}) VALUES ({marks})"
                 f" ON CONFLICT (source_id) DO UPDATE SET {updates}", values)


def _insert_alert(conn: sqlite3.Connection, alert: Alert, destinations: dict[str, Send], now: float) -> int:
    mention, assessment = alert.mention, alert.assessment
    matches = json.dumps([asdict(m) for m in mention.matches], ensure_ascii=False)
    cur = conn.execute(
        "INSERT INTO mention (dedup_key, brand, competitor, matches, created_at) VALUES (?,?,?,?,?)"
        " ON CONFLICT (brand, dedup_key) DO NOTHING",
        (mention.post.dedup_key, mention.brand, int(mention.competitor), matches, now))
    if not cur.rowcount:
        return 0
    conn.execute(
        "INSERT INTO alert (id, mention_id, brand, severity, sentiment, category, issue, urgent, language, author,"
        " respond_by, created_at, payload, thread) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
        (alert.id, cur.lastrowid, mention.brand, assessment.severity, assessment.sentiment, assessment.category,
         assessment.issue, int(assessment.urgent), assessment.language, mention.post.author.handle,
         alert.respond_by.timestamp(), now, json.dumps(alert.to_dict(), ensure_ascii=False), alert.thread or None))
    return sum(_queue(conn, alert.id, dest, now, send) for dest, send in destinations.items())


def _queue(conn: sqlite3.Connection, alert_id: str, notifier_id: str, now: float, send: Send = Send(),
           note: str | None = None, key: str | None = None) -> int:
    cur = conn.execute(
        "INSERT INTO outbox (idempotency_key, alert_id, notifier_id, status, next_attempt_at, created_at, batch, note)"
        " VALUES (?,?,?,'pending',?,?,?,?) ON CONFLICT (idempotency_key) DO NOTHING",
        (idempotency_key(key or alert_id, notifier_id), alert_id, notifier_id, max(now, send.not_before), now,
         send.batch, note))
    return cur.rowcount


def _marks(row: OutboxRow) -> str:
    return ",".join("?" * len(row.ids))


def _log_attempt(conn: sqlite3.Connection, row: OutboxRow, now: float, outcome: str, status_code: int | None,
                 remote_id: str | None, detail: str | None) -> None:
    conn.executemany("INSERT INTO delivery (outbox_id, attempt, at, outcome, status_code, remote_id, detail)"
                     " VALUES (?,?,?,?,?,?,?)", [(i, row.attempts, now, outcome, status_code, remote_id, detail)
                                                  for i in row.ids])
