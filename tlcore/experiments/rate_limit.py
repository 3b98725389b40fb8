"""A sliding-window count per key (a client address): how many times something was done in the last window.

Kept in the server's memory, not in the store: it guards CPU (share-link viewers running the shared models),
not data, so forgetting it on a restart costs at most one more window's worth of work.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class SlidingWindow:
    """At most `limit` events per key in any `window_s` seconds; safe to share between sessions' threads."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _fresh(self, key: str, now: float) -> deque[float]:
        events = self._events[key]
        while events and events[0] <= now - self.window_s:
            events.popleft()
        return events

    def take(self, key: str, now: float | None = None) -> bool:
        """Count one event for `key` if it is within the limit; False (nothing counted) when it is not."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._fresh(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def left(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            return max(0, self.limit - len(self._fresh(key, now)))

    def wait_s(self, key: str, now: float | None = None) -> float:
        """Seconds until `key` may act again (0 when it may now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._fresh(key, now)
            if len(events) < self.limit:
                return 0.0
            return max(0.0, events[0] + self.window_s - now) if events else self.window_s  # a limit of 0
