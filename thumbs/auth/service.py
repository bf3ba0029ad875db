"""Accounts, API keys and credential verification (no HTTP here)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from thumbs.auth.secrets import hash_secret, new_secret, verify_secret
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.cache import TTLCache
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store.engine import Store
from thumbs.store.models import Account, ApiKey, CredentialEpoch
from thumbs.store.sql import insert_ignore


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

    @property
    def confined_to(self) -> str | None:
        """The identity an end user's request is confined to (their own conversations and
        verdicts); None for staff, who see the whole account."""
        return None if self.is_staff else self.identity

    @property
    def by_auth_token(self) -> bool:
        """Authenticated with the account's own Auth Token (not an API key)."""
        return self.credential_sid == self.account_sid


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


def _keys_of(account_pk: int) -> Select[ApiKey]:
    return select(ApiKey).where(ApiKey.account_pk == account_pk)


def list_api_keys(session: Session, *, account_pk: int, params: PageParams) -> Page[ApiKey]:
    """A page of the account's API keys, newest first (revoked keys are gone)."""
    return keyset_page(session, _keys_of(account_pk), ApiKey.pk, params)


def all_api_keys(session: Session, *, account_pk: int) -> list[ApiKey]:
    """Every API key of the account, oldest first."""
    return list(session.scalars(_keys_of(account_pk).order_by(ApiKey.pk)))


def find_api_key(session: Session, *, sid: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.sid == sid)).one_or_none()


def get_api_key(session: Session, *, account_pk: int, sid: str) -> ApiKey:
    """The account's key ``sid``; another account's is not found."""
    key = find_api_key(session, sid=sid)
    if key is None or key.account_pk != account_pk:
        raise E.NotFound("Key", sid[:64])
    return key


def revoke_api_key(session: Session, *, key: ApiKey) -> None:
    """Delete the key and move the credential epoch forward, in one transaction: every
    server process forgets its cached credentials within ``THUMBS_AUTH_REVOCATION_CHECK``
    seconds of the commit (see :class:`CredentialCache`)."""
    session.execute(delete(ApiKey).where(ApiKey.pk == key.pk))
    bump_credential_epoch(session)
    session.flush()


def api_key_out(key: ApiKey, *, account_sid: str) -> dict[str, object]:
    return {
        "sid": key.sid,
        "account_sid": account_sid,
        "friendly_name": key.friendly_name,
        "date_created": iso(key.date_created),
    }


def read_credential_epoch(session: Session) -> int:
    return session.scalar(select(CredentialEpoch.epoch).where(CredentialEpoch.pk == 1)) or 0


def refresh_credential_epoch(cache: CredentialCache, store: Store) -> None:
    """Read the revocation epoch and tell the cache (blocking: a thread, never the loop)."""
    started = time.monotonic()
    with store.sessions() as session:
        epoch = read_credential_epoch(session)
    cache.confirm(epoch, started=started)


def bump_credential_epoch(session: Session) -> None:
    now = utcnow()
    moved = session.execute(
        update(CredentialEpoch)
        .where(CredentialEpoch.pk == 1)
        .values(epoch=CredentialEpoch.epoch + 1, date_updated=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0):  # the row is made by the migration; never lost
        insert_ignore(
            session,
            CredentialEpoch,
            {"pk": 1, "epoch": 1, "date_updated": now},
            index_elements=["pk"],
        )


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

    Only successful verifications are cached, for ``ttl`` seconds. A cached credential is
    trusted only while the revocation epoch (``credential_epoch``) was confirmed unchanged
    by a read that started less than ``recheck`` seconds ago, and a moved epoch empties the
    cache. So a key revoked through any process is refused by every process at most
    ``recheck`` seconds after the revocation committed, whatever ``ttl`` is. The server
    re-reads the epoch on a thread of its own every ``recheck / 2`` seconds (one small query
    per process, not per request), so requests do not wait for it; a request that finds
    the last read too old (:meth:`needs_check`: the thread is late, the store is down)
    reads it itself before trusting the cache."""

    def __init__(self, ttl: float, recheck: float = 2.0) -> None:
        self.recheck = recheck
        self._items = TTLCache(ttl, max_items=10_000)  # a ttl of 0 keeps nothing
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._checked = -float("inf")  # monotonic time the last confirmed read started
        self.generation = 0  # moves on every clear: a verification older than it is stale
        self.check_lock = asyncio.Lock()  # one epoch read at a time (used on the event loop)

    @staticmethod
    def _key(header: str) -> bytes:
        return hashlib.sha256(header.encode("utf-8", "surrogateescape")).digest()

    def get(self, header: str) -> Principal | None:
        hit = self._items.get(self._key(header))
        return hit if isinstance(hit, Principal) else None

    def needs_check(self) -> bool:
        return time.monotonic() - self._checked >= self.recheck

    def confirm(self, epoch: int, *, started: float) -> None:
        """Record an epoch read that started at ``started`` (monotonic); a changed epoch
        empties the cache."""
        with self._lock:
            if epoch != self._epoch:  # moved, or never read: what is cached may predate it
                self._clear_locked()
                self._epoch = epoch
            self._checked = max(self._checked, started)

    def put(self, header: str, principal: Principal, *, generation: int) -> None:
        """Cache a verification made when the cache was at ``generation``: if the cache
        was emptied meanwhile (a revocation), the verification may predate it and is not
        kept."""
        with self._lock:
            if generation != self.generation:
                return
            self._items.put(self._key(header), principal)

    def _clear_locked(self) -> None:
        self._items.clear()
        self.generation += 1

    def clear(self) -> None:
        with self._lock:
            self._clear_locked()
