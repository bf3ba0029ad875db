"""Sign-in throttling: console sign-in attempts are counted per email and per client address
in a sliding window; past the limit, sign-in is refused (429 with ``Retry-After``) until the
oldest counted attempt leaves the window, whatever the password.

An attempt is counted *before* its password is checked (:meth:`SignInThrottle.begin` checks
the limit and records the attempt under one lock), so that concurrent guesses cannot all
slip in under the limit while their hashes run. A success takes its own attempt back and
clears the email's count; an attempt that checked no password (the hashing pool was busy)
is taken back too. What stays counted is failures and attempts still being checked.

Counters live in the server process (each worker counts its own), which bounds guessing at
``limit`` tries per window per worker without a store round trip; the number of keys kept
is bounded (the least recently used are forgotten first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in attempt: admitted (``retry_after`` None, and counted) or refused."""

    keys: tuple[Key, ...]
    at: float
    retry_after: float | None = None


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
        self._attempts: OrderedDict[Key, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def keys(email: str, address: str | None) -> list[Key]:
        keys: list[Key] = [("email", email.strip().lower())]
        if address:
            keys.append(("address", address))
        return keys

    def begin(self, keys: Sequence[Key]) -> Attempt:
        """Count an attempt with these keys before its password is checked; or, past the
        limit, refuse it (``retry_after`` set, nothing counted)."""
        now = self.clock()
        with self._lock:
            wait = self._wait(keys, now)
            if wait is not None:
                return Attempt(tuple(keys), now, wait)
            self._record(keys, now)
        return Attempt(tuple(keys), now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: take the attempt back and clear its email's count."""
        with self._lock:
            self._take_back(attempt)
            for key in attempt.keys:
                if key[0] == "email":
                    self._attempts.pop(key, None)

    def withdraw(self, attempt: Attempt) -> None:
        """No password was checked (refused as busy): the attempt does not count."""
        with self._lock:
            self._take_back(attempt)

    def retry_after(self, keys: Iterable[Key]) -> float | None:
        """Seconds until a sign-in with these keys may be tried again; None if it may now."""
        now = self.clock()
        with self._lock:
            return self._wait(keys, now)

    def failed(self, keys: Iterable[Key]) -> None:
        """Count a failure now (what :meth:`begin` does for an admitted attempt)."""
        now = self.clock()
        with self._lock:
            self._record(keys, now)

    def clear(self) -> None:
        with self._lock:
            self._attempts.clear()

    # -- under the lock -----------------------------------------------------------------------

    def _wait(self, keys: Iterable[Key], now: float) -> float | None:
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self.limits[key[0]]:
                wait = max(wait, times[0] + self.window - now)
        return wait if wait > 0 else None

    def _record(self, keys: Iterable[Key], now: float) -> None:
        for key in keys:
            times = self._recent(key, now)
            if times is None:
                if len(self._attempts) >= self.max_keys:
                    self._attempts.popitem(last=False)  # the least recently counted
                times = self._attempts[key] = deque()
            times.append(now)
            self._attempts.move_to_end(key)

    def _take_back(self, attempt: Attempt) -> None:
        if attempt.retry_after is not None:
            return
        for key in attempt.keys:
            times = self._attempts.get(key)
            if times is not None and attempt.at in times:
                times.remove(attempt.at)
                if not times:
                    del self._attempts[key]

    def _recent(self, key: Key, now: float) -> deque[float] | None:
        times = self._attempts.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._attempts[key]
            return None
        return times
