"""Accounts, API keys and credential verification (no HTTP here)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from thumbs.auth.secrets import hash_secret, new_secret, verify_secret
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.store.models import Account, ApiKey


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: always an account; a user when one is known (console, identity)."""

    account_pk: int
    account_sid: str
    credential_sid: str
    role: str = "admin"  # account credentials act as admin
    user_pk: int | None = None
    user_sid: str | None = None
    identity: str | None = None  # the X-Thumbs-Identity the request acts as

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "member")


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    auth_token: str


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: ApiKey
    secret: str


def create_account(session: Session, *, name: str) -> NewAccount:
    token = new_secret()
    account = Account(
        sid=ids.new_sid(ids.ACCOUNT), friendly_name=name, auth_token_hash=hash_secret(token)
    )
    session.add(account)
    session.flush()
    return NewAccount(account=account, auth_token=token)


def get_account(session: Session, *, sid: str) -> Account | None:
    return session.scalars(select(Account).where(Account.sid == sid)).one_or_none()


def create_api_key(session: Session, *, account: Account, name: str = "") -> NewApiKey:
    secret = new_secret()
    key = ApiKey(
        sid=ids.new_sid(ids.API_KEY),
        account_pk=account.pk,
        friendly_name=name,
        secret_hash=hash_secret(secret),
    )
    session.add(key)
    session.flush()
    return NewApiKey(key=key, secret=secret)


def all_api_keys(session: Session, *, account_pk: int) -> list[ApiKey]:
    """Every API key of the account, oldest first (revoked keys are gone)."""
    stmt = select(ApiKey).where(ApiKey.account_pk == account_pk).order_by(ApiKey.pk)
    return list(session.scalars(stmt))


def get_api_key(session: Session, *, account_pk: int, sid: str) -> ApiKey:
    """The account's key ``sid``; another account's is not found."""
    key = session.scalars(
        select(ApiKey).where(ApiKey.sid == sid, ApiKey.account_pk == account_pk)
    ).one_or_none()
    if key is None:
        raise E.NotFound("Key", sid[:64])
    return key


def revoke_api_key(session: Session, *, key: ApiKey) -> None:
    """Delete the key: it authenticates nothing from the commit on (a server process that
    cached it forgets it when its credential cache is cleared, or after
    ``THUMBS_AUTH_CACHE_TTL`` seconds)."""
    session.execute(delete(ApiKey).where(ApiKey.pk == key.pk))
    session.flush()


def verify_credentials(session: Session, *, username: str, password: str) -> Principal | None:
    if ids.is_sid(username, ids.ACCOUNT):
        account = get_account(session, sid=username)
        if account is None or not verify_secret(password, account.auth_token_hash):
            return None
        return Principal(account_pk=account.pk, account_sid=account.sid, credential_sid=account.sid)
    if ids.is_sid(username, ids.API_KEY):
        row = session.execute(
            select(ApiKey, Account)
            .join(Account, Account.pk == ApiKey.account_pk)
            .where(ApiKey.sid == username)
        ).one_or_none()
        if row is None or not verify_secret(password, row.ApiKey.secret_hash):
            return None
        return Principal(
            account_pk=row.Account.pk, account_sid=row.Account.sid, credential_sid=row.ApiKey.sid
        )
    return None


def parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


class CredentialCache:
    """Per-process cache of verified credentials, keyed by a digest of the header.

    Only successful verifications are cached, for ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[bytes, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(header: str) -> bytes:
        return hashlib.sha256(header.encode("utf-8", "surrogateescape")).digest()

    def get(self, header: str) -> Principal | None:
        hit = self._items.get(self._key(header))
        if hit is None:
            return None
        principal, expires = hit
        if expires < time.monotonic():
            return None
        return principal

    def put(self, header: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[self._key(header)] = (principal, time.monotonic() + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
