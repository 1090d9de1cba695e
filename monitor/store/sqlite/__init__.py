"""SQLite backend: the embedded default, one daemon per file.

WAL + synchronous=FULL + BEGIN IMMEDIATE for every write; one connection used from one thread. A failing database
(disk full, read-only, locked for good, corrupt, the file deleted or replaced) raises StoreError naming the file.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from ..base import Store
from ..connection import Cursor, Dialect, StoreBusyError, StoreError


class SqliteDialect(Dialect):
    greatest = "MAX"
    # each half reads an index range for its status only, never the sent rows
    first_due_outbox_row = (
        "SELECT MIN(id) FROM ("
        " SELECT MIN(id) AS id FROM outbox WHERE notifier_id=? AND status='pending' AND next_attempt_at<=?"
        " UNION ALL"
        " SELECT MIN(id) FROM outbox WHERE notifier_id=? AND status='sending' AND lease_until<?)")
    skip_locked = ""  # one daemon per file: nobody else claims

    def indexed_by(self, index: str) -> str:
        return f"INDEXED BY {index}"

    def json_field(self, column: str, name: str) -> str:
        return f"json_extract({column}, '$.{name}')"


class SqliteStore(Store):
    dialect = SqliteDialect()

    def __init__(self, path: str | Path, readonly: bool = False):
        """Open (creating when needed) the database; `readonly` is for inspecting a live daemon's state.
        Raises StoreError when the file or its folder cannot be used."""
        super().__init__()
        self.path = Path(path)
        self.name = str(self.path)
        try:
            self._conn = self._connect(readonly)
            self._identity = _identity(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(self.path, _reason(exc)) from None
        self._lock_file = None

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

    def _read(self, sql: str, args: Any = ()) -> Cursor:
        return self._conn.execute(sql, args)

    def is_failure(self, exc: BaseException) -> bool:
        """The database or its disk failed (full, read-only, locked, I/O, corrupt, not a database), as opposed to
        a query breaking a constraint or misusing the API: that is a bug, which a restart would not cure."""
        return isinstance(exc, (sqlite3.OperationalError, OSError)) or type(exc) is sqlite3.DatabaseError

    def reason(self, exc: BaseException) -> str:
        return _reason(exc)

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
        self._shutdown()
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
            self._recovered()

    def migrate(self) -> int:
        """Apply numbered migrations newer than PRAGMA user_version; return the resulting version."""
        version = self.schema_version()
        folder = resources.files("monitor.store.sqlite") / "migrations"
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


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror or str(exc)
    if str(exc) == "unable to open database file":
        return f"{exc} (does its folder exist, and may this user write there?)"
    return str(exc)
