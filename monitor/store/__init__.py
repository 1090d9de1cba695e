from .sqlite import OutboxRow, Store

__all__ = ["OutboxRow", "Store"]
