"""Console secrets: argon2 password hashes, session tokens stored as digests, CSRF tokens.

* Passwords are hashed with argon2id (argon2-cffi's defaults); a sign-in for an unknown
  email still verifies against a dummy hash so both answers take the same time.
* A session token is 256 random bits in the cookie; the database keeps its SHA-256 digest
  only, so a copy of the database signs no one in.
* The CSRF token of a session is an HMAC of the session token: per session, never stored,
  unknown to anyone who cannot read the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


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
    """``default``: argon2-cffi's defaults (RFC 9106 low-memory profile). ``cheap-for-tests``:
    one pass over 8 MiB, so that a test suite signs in quickly (refused in production)."""
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


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def csrf_for(session_token: str) -> str:
    return hmac.new(
        session_token.encode("utf-8", "surrogateescape"), b"thumbs-console-csrf", hashlib.sha256
    ).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens; a missing one never matches."""
    if not a or not b:
        return False
    return hmac.compare_digest(
        a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")
    )
