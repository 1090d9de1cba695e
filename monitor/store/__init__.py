from .sqlite import OutboxRow, Store, StoreError

__all__ = ["OutboxRow", "Store", "StoreError"]
