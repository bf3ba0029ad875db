"""A small per-process map with expiry, for lookups on the hot path (the server's caches
of credentials, assistants and end users live in :class:`thumbs.runtime.Runtime`)."""

from __future__ import annotations

import threading
import time


class TTLCache:
    """A small per-process map with expiry, for lookups on the hot path."""

    def __init__(self, ttl: float, max_items: int = 100_000) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: dict[object, tuple[object, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: object) -> object | None:
        hit = self._items.get(key)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, key: object, value: object) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._items) >= self.max_items:
                self._items.clear()
            self._items[key] = (value, time.monotonic() + self.ttl)

    def pop(self, key: object) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
