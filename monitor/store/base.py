"""The store's interface: every concern, whatever the backend (sqlite/, postgres/)."""
from __future__ import annotations

from .acks import Acks
from .daemons import Daemons
from .outbox import Outbox
from .posts import Posts
from .retention import Retention
from .sources import Sources
from .status import Status


class Store(Sources, Posts, Outbox, Acks, Status, Retention, Daemons):
    """One database: source state, posts and dedup, incidents, the outbox, acknowledgements and escalation,
    status, retention, daemons and their leases. Open one with `open_store(settings.store)`."""
