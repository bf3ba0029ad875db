"""A small per-process map with expiry, for lookups on the hot path (the server's caches
of credentials, assistants and end users live in :class:`thumbs.runtime.Runtime`).

Every entry lives ``ttl`` seconds from its last ``put``, so the map's insertion order is
the order of expiry: a ``put`` moves its key to the end, and drops the expired entries at
the front as it goes (each entry is dropped once: amortised constant time). The map holds
what was put in the last ``ttl`` seconds, at most ``max_items`` of it (the oldest entries
leave first), so a server's memory does not grow with the number of distinct keys it has
ever seen: under the mixed benchmark, a new end user every few requests kept it growing
(bench/README.md, "Mixed workload").
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class TTLCache:
    """A small per-process map with expiry, for lookups on the hot path."""

    def __init__(self, ttl: float, max_items: int = 100_000) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: OrderedDict[object, tuple[object, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: object) -> object | None:
        hit = self._items.get(key)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, key: object, value: object) -> None:
        if self.ttl <= 0:
            return
        now = time.monotonic()
        with self._lock:
            items = self._items
            items[key] = (value, now + self.ttl)
            items.move_to_end(key)  # the order of the map is the order of expiry
            while len(items) > self.max_items:
                items.popitem(last=False)
            while items:
                oldest = next(iter(items))
                if items[oldest][1] >= now:
                    break
                del items[oldest]

    def pop(self, key: object) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
