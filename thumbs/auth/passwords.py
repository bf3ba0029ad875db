"""Console passwords: argon2id hashes, checked on a small bounded pool of their own.

Design
------
* Passwords are hashed with argon2id. The ``default`` profile is argon2-cffi's (RFC 9106's
  low-memory profile: 64 MiB, 3 passes); ``cheap-for-tests`` is one pass over 8 MiB, so that
  the test suite signs in quickly (refused in production, see ``thumbs.config``).
* One check costs the profile's memory for its whole duration (64 MiB by default). Checks
  therefore never run on the server's shared thread pool: :class:`PasswordChecks` runs them
  on ``slots`` threads of its own (the peak memory of checking is ``slots`` x 64 MiB, however
  many sign-ins arrive), lets at most ``waiting`` more sign-ins wait their turn, and refuses
  any beyond that at once with :class:`ChecksBusy` (the console answers 503 with
  ``Retry-After``). A flood of sign-ins thus costs bounded memory and never starves the
  threads that serve every other request.
* An unknown user costs the same check against a dummy hash (made once per profile), so a
  refusal takes the same time whether or not the email exists.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")


class _Hashing:
    def __init__(self, hasher: PasswordHasher) -> None:
        self.use(hasher)

    def use(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self._dummy: str | None = None

    @property
    def dummy(self) -> str:
        if self._dummy is None:
            self._dummy = str(self.hasher.hash("thumbs: a password no account has"))
        return self._dummy


_hashing = _Hashing(PasswordHasher())


def configure(profile: str) -> None:
    """Use the hashing profile ``default`` or ``cheap-for-tests`` (see the module doc)."""
    if profile == "cheap-for-tests":
        hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    else:
        hasher = PasswordHasher()
    if hasher.memory_cost != _hashing.hasher.memory_cost:
        _hashing.use(hasher)


def hash_password(password: str) -> str:
    return str(_hashing.hasher.hash(password))


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored`` (the hash carries its own parameters); an
    unknown user (``stored`` None) costs the same verification against a dummy hash."""
    try:
        ok = bool(_hashing.hasher.verify(stored or _hashing.dummy, password))
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


class ChecksBusy(Exception):
    """Every hashing slot is taken and the waiting line is full: try again shortly."""

    retry_after = 1


class PasswordChecks:
    """At most ``slots`` password checks at a time, on threads of their own; at most
    ``waiting`` more wait for a slot; any beyond that are refused at once (:class:`ChecksBusy`).
    """

    def __init__(self, *, slots: int = 2, waiting: int = 16) -> None:
        self.slots = slots
        self.waiting = waiting
        self._admitted = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="thumbs-password")

    @property
    def admitted(self) -> int:
        """Checks running or waiting now."""
        return self._admitted

    async def run(self, check: Callable[[], T]) -> T:
        """Run ``check`` (which hashes) on a hashing slot, waiting for one if need be."""
        with self._lock:
            if self._admitted >= self.slots + self.waiting:
                raise ChecksBusy()
            self._admitted += 1
        try:
            # the pool's size, not this count, is what bounds the hashes running at once
            return await asyncio.get_running_loop().run_in_executor(self._pool, check)
        finally:
            with self._lock:
                self._admitted -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
