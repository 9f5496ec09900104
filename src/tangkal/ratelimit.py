"""A small in-memory rate limit for the public endpoints (appeals, normalisation requests)."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key, in this process's memory.

    Enough to stop one address flooding an inbox that officials read by hand; several
    workers each keep their own count, which only makes the limit proportionally looser.
    """

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._hits) >= self.max_keys:
                self._hits.clear()
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True
