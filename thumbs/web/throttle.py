"""Sign-in throttling: failed console sign-ins are counted per email and per client address
in a sliding window; past the limit, sign-in is refused (429 with ``Retry-After``) until the
oldest failure leaves the window, whatever the password. Counters live in the server process
(each worker counts its own), which bounds guessing at ``limit`` tries per window per worker
without a store round trip; a success clears the email's counter."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

Key = tuple[str, str]


class SignInThrottle:
    def __init__(
        self,
        *,
        per_email: int = 5,
        per_address: int = 20,
        window: float = 900.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"email": per_email, "address": per_address}
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[Key, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def keys(email: str, address: str | None) -> list[Key]:
        keys: list[Key] = [("email", email.strip().lower())]
        if address:
            keys.append(("address", address))
        return keys

    def retry_after(self, keys: Iterable[Key]) -> float | None:
        """Seconds until a sign-in with these keys may be tried again; None if it may now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if times is not None and len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[0] + self.window - now)
        return wait if wait > 0 else None

    def failed(self, keys: Iterable[Key]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if times is None:
                    if len(self._failures) >= self.max_keys:
                        self._failures.popitem(last=False)  # the least recently failed
                    times = self._failures[key] = deque()
                times.append(now)
                self._failures.move_to_end(key)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(("email", email.strip().lower()), None)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()

    def _recent(self, key: Key, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
