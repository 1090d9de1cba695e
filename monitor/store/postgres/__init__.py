"""PostgreSQL backend: several daemons on one database (store.url: postgresql://...), through psycopg 3.

The SQL is the same as SQLite's (`?` placeholders become psycopg's `%s` here); claims skip rows another daemon
holds (FOR UPDATE SKIP LOCKED) and uniqueness is enforced by constraints. A lost connection is a store failure
(StoreError naming the database, password left out); the next operation connects again.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg

from ...redaction import redact
from ..base import Store
from ..connection import Cursor, Dialect, StoreError

MIGRATION_LOCK = 0x626D6D67  # advisory lock id held while migrating ("bmmg"): daemons starting together take turns


class PostgresDialect(Dialect):
    greatest = "GREATEST"
    first_due_outbox_row = (
        "SELECT id FROM outbox WHERE (notifier_id=? AND status='pending' AND next_attempt_at<=?)"
        " OR (notifier_id=? AND status='sending' AND lease_until<?) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
    skip_locked = "FOR UPDATE SKIP LOCKED"

    def indexed_by(self, index: str) -> str:
        return ""

    def json_field(self, column: str, name: str) -> str:
        return f"({column}::json -> '{name}')::text"


class Row(tuple):
    """A result row read by position or by column name, as sqlite3.Row is."""
    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: psycopg.Cursor) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Any) -> Row:
        row = Row(values)
        row.names = names
        return row
    return make


@functools.lru_cache(maxsize=512)
def _sql(text: str) -> str:
    """SQLite-style placeholders to psycopg's; a literal % doubled."""
    return text.replace("%", "%%").replace("?", "%s")


class _Transaction:
    def __init__(self, conn: psycopg.Connection):
        self._conn = conn

    def execute(self, sql: str, args: Any = ()) -> Cursor:
        return self._conn.execute(_sql(sql), args)

    def executemany(self, sql: str, rows: Any) -> None:
        self._conn.cursor().executemany(_sql(sql), rows)


class PostgresStore(Store):
    dialect = PostgresDialect()
    multi_daemon = True

    def __init__(self, url: str, password: str | None = None, connect_timeout: float = 10.0):
        super().__init__()
        self._url, self._password, self._timeout = url, password, connect_timeout
        self.name = redact(url)
        self._conn: psycopg.Connection | None = None
        try:
            self._connection()
        except psycopg.Error as exc:
            raise StoreError(self.name, _reason(exc)) from None

    def _connection(self) -> psycopg.Connection:
        """The open connection, connecting again when the last one was lost."""
        if self._conn is None or self._conn.closed:
            extra = {"password": self._password} if self._password else {}
            self._conn = psycopg.connect(self._url, autocommit=True, row_factory=_row_factory,
                                         connect_timeout=max(1, round(self._timeout)),
                                         application_name="brand-monitor", **extra)
        return self._conn

    def _read(self, sql: str, args: Any = ()) -> Cursor:
        return self._connection().execute(_sql(sql), args)

    @contextmanager
    def _write(self) -> Iterator[_Transaction]:
        conn = self._connection()
        with conn.transaction():
            yield _Transaction(conn)
        self._recovered()

    def is_failure(self, exc: BaseException) -> bool:
        """The server or the connection failed (down, lost, out of disk, too many clients), as opposed to a query
        breaking a constraint: that is a bug, which a restart would not cure."""
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError))

    def reason(self, exc: BaseException) -> str:
        return _reason(exc)

    def check(self) -> None:
        if self.failure is not None:
            raise StoreError(self.name, self.failure)
        self._read("SELECT 1").fetchone()

    def close(self) -> None:
        self._shutdown()
        if self._conn is not None:
            self._conn.close()

    def ids_copied(self, tables: tuple[str, ...]) -> None:
        with self._write() as conn:
            for (table,) in conn.execute("SELECT table_name FROM information_schema.columns WHERE column_name='id'"
                                         " AND is_identity='YES' AND table_name = ANY(?)", (list(tables),)).fetchall():
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1,"
                             f" false) FROM {table}")

    def lock(self) -> None:
        """Several daemons may share the database: nothing to lock (leases divide the work)."""

    def migrate(self) -> int:
        """Apply numbered migrations newer than the recorded version, each in its own transaction; daemons
        starting together take turns (an advisory lock)."""
        conn = self._connection()
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            with self._write() as tx:
                tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                tx.execute("INSERT INTO schema_version SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)")
            version = self.schema_version()
            for script in sorted((resources.files("monitor.store.postgres") / "migrations").iterdir(),
                                 key=lambda p: p.name):
                number = int(script.name.split("_", 1)[0])
                if number > version:
                    with self._write() as tx:
                        conn.execute(script.read_text())  # several statements, no parameters
                        tx.execute("UPDATE schema_version SET version=?", (number,))
                    version = number
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        return version

    def schema_version(self) -> int:
        """0 for an empty database."""
        conn = self._connection()
        if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT version FROM schema_version").fetchone()[0]

    def recover_in_flight(self) -> int:
        """Rows left 'sending' may belong to another daemon that is sending them right now: their leases decide
        (an expired lease is claimed again), nothing is reset at start-up."""
        return 0


def _reason(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
