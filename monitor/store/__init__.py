"""The store: one interface split by concern (base.Store), two backends (sqlite/, postgres/)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Store
from .connection import StoreBusyError, StoreError
from .outbox import OutboxRow, idempotency_key
from .sqlite import SqliteStore

if TYPE_CHECKING:
    from ..settings import StoreConfig

ISSUE_SCHEMA = 7  # sqlite/migrations/0007_alert_issue.sql: the issue and urgent columns

__all__ = ["ISSUE_SCHEMA", "OutboxRow", "SqliteStore", "Store", "StoreBusyError", "StoreError", "idempotency_key",
           "open_store"]


def open_store(config: StoreConfig, readonly: bool = False) -> Store:
    """The configured store: PostgreSQL when `store.url` is set, else the SQLite file at `store.path`."""
    if config.url:
        from .postgres import PostgresStore  # psycopg is only needed by those who use it
        return PostgresStore(config.url, config.password.get_secret_value() if config.password else None)
    return SqliteStore(config.resolved_path(), readonly=readonly)
