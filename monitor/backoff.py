"""Capped exponential backoff with full jitter, shared by polling and delivery."""
from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait before try number `attempt + 1` (attempt >= 1 failures so far).

    Full jitter (uniform over [0, min(cap, base * 2**attempt)]) spreads retries of many clients, floored at
    `base` so a failing peer is never hammered faster than the normal pace, and never sooner than the
    server's Retry-After.
    """
    ceiling = min(cap, base * 2 ** min(attempt, 20))
    delay = max(base, (rng or random).uniform(0, ceiling))
    return min(max(delay, retry_after or 0.0), max(cap, retry_after or 0.0))
