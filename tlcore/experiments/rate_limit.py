"""A sliding-window count per key (a client address): how many times something was done in the last window.

Kept in the server's memory, not in the store: it guards CPU (share-link viewers running the shared models),
not data, so forgetting it on a restart costs at most one more window's worth of work. Keys whose events have
all expired are dropped once per window, so a public link visited from many addresses does not grow it forever.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindow:
    """At most `limit` events per key in any `window_s` seconds; safe to share between sessions' threads."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = float("-inf")

    def _fresh(self, key: str, now: float) -> deque[float]:
        self._sweep(now)
        events = self._events.get(key, deque())
        while events and events[0] <= now - self.window_s:
            events.popleft()
        return events

    def _sweep(self, now: float) -> None:
        """Forget the keys with no event inside the window (at most once per window: O(keys) each time)."""
        if now - self._swept < self.window_s:
            return
        self._swept = now
        for key in [k for k, events in self._events.items() if not events or events[-1] <= now - self.window_s]:
            del self._events[key]

    def keys(self) -> int:
        """How many keys are remembered (for tests and the curious)."""
        with self._lock:
            return len(self._events)

    def take(self, key: str, now: float | None = None) -> bool:
        """Count one event for `key` if it is within the limit; False (nothing counted) when it is not."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._fresh(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            self._events[key] = events
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
