"""The thin layer under every concern of the store: one connection, used from one thread.

Callers on the event loop run store methods with `await store.run(store.method, ...)`. A backend (sqlite/,
postgres/) opens the connection, runs transactions (`_write`) and reads (`_read`), applies its migrations and says
which errors mean the database failed (disk full, connection lost) rather than a bug. A failure is remembered until
a write succeeds again, and `check()` reports it, so the daemon's health check fails and systemd restarts it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger()


class StoreError(Exception):
    """The database cannot be used; the message names the file (or database) and the reason."""

    def __init__(self, where: object, reason: str):
        super().__init__(f"store {where}: {reason}")
        self.reason = reason


class StoreBusyError(OSError):
    """The store is locked by another brand-monitor process."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Transaction(Protocol):
    def execute(self, sql: str, args: Any = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Any) -> Any: ...


class Dialect:
    """The few SQL fragments that differ between backends; the rest of the SQL is written to run on both."""
    greatest: str  # the larger of two values
    first_due_outbox_row: str  # the id of a destination's oldest due row; args: notifier, now, notifier, now
    skip_locked: str  # after a SELECT of rows to claim: skip those another daemon is claiming right now

    def indexed_by(self, index: str) -> str:
        """A planner hint where the backend needs one (SQLite's INDEXED BY)."""
        raise NotImplementedError

    def json_field(self, column: str, name: str) -> str:
        """The JSON text of one top-level field of a JSON text column."""
        raise NotImplementedError


class Connection:
    name: str  # what errors and logs call this store: its file, or its database URL without the password
    dialect: Dialect
    multi_daemon = False  # several daemons may share this store (leases); else one daemon owns it (lock())

    def __init__(self) -> None:
        self.failure: str | None = None  # why the last operation failed, until a write succeeds again
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    async def run(self, method: Callable[..., T], *args: Any) -> T:
        """Run a store method on the store's own thread, so the event loop never blocks on the database."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, method, args)

    def _call(self, method: Callable[..., T], args: tuple) -> T:
        try:
            return method(*args)
        except StoreError as exc:
            self._failed(exc.reason)
            raise
        except Exception as exc:
            if not self.is_failure(exc):
                raise
            self._failed(self.reason(exc))
            raise StoreError(self.name, self.reason(exc)) from exc

    def _failed(self, reason: str) -> None:
        if self.failure is None:
            log.error("store_failed", store=self.name, error=reason)
        self.failure = reason

    def _recovered(self) -> None:
        if self.failure is not None:
            log.info("store_recovered", store=self.name, after=self.failure)
            self.failure = None

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)

    # -- what each backend provides ----------------------------------------------------------------------

    def _read(self, sql: str, args: Any = ()) -> Cursor:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Transaction]:
        """One short write transaction, committed when the block ends; never held across network I/O."""
        raise NotImplementedError

    def is_failure(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def reason(self, exc: BaseException) -> str:
        return str(exc)

    def migrate(self) -> int:
        """Apply the backend's migrations newer than the schema version; return the resulting version."""
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def check(self) -> None:
        """Raise StoreError while the store cannot be trusted. Run it through `run`."""
        raise NotImplementedError

    def lock(self) -> None:
        """Claim the store for this daemon (SQLite: exclusively; PostgreSQL: registers it among the others)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def ids_copied(self, tables: tuple[str, ...]) -> None:
        """Rows were copied in with their ids: new rows must get ids after them (SQLite does so by itself)."""
