"""Console users and their sign-in sessions (no HTTP here).

Who
---
A console user is a row of ``users`` with the role ``admin`` or ``member`` and a password
(created by an operator with ``thumbs users create``, or invited by an admin in the console:
see ``thumbs.auth.members``); a deactivated one neither signs in nor keeps a session. An
email is unique *within an account*: the same person may be a console user of several
accounts, each with its own password, and no account learns anything about another's users.

Signing in (:meth:`SignIn.sign_in`), in this order
-----------------------------------------------------
1. The attempt is counted by the throttle (``thumbs.auth.throttle``) *before* any hash, so
   concurrent guesses cannot all slip in under the limit.
2. The console users with that email are read (any account), then the password is checked
   against each of them on the bounded hashing pool (``thumbs.auth.passwords``) with no store
   connection held; an unknown email costs one check against a dummy hash, as much as an
   email of one account.
3. No match: one refusal, the same for a wrong password and an unknown email. One match: a
   session. Several (the same email *and* password in several accounts): the person picks one
   of the accounts the password opened, and only those; the pick carries a short-lived signed
   ticket (:meth:`SignIn.choose`), so the password is neither checked nor sent again.

Sessions
--------
The cookie holds a 256-bit random token; ``web_sessions`` keeps only its SHA-256 digest, so a
copy of the database signs no one in; signing out deletes the row. The CSRF token of a
session is an HMAC of its token: per session, never stored, unknown to anyone who cannot
read the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from thumbs.auth import passwords
from thumbs.auth.passwords import ChecksBusy, PasswordChecks
from thumbs.auth.service import Principal
from thumbs.auth.throttle import SignInThrottle
from thumbs.config import Settings
from thumbs.kit import errors as E
from thumbs.kit.timefmt import utcnow
from thumbs.store.engine import Store
from thumbs.store.models import Account, User, WebSession
from thumbs.users import service as users

ROLES = ("admin", "member")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
TICKET_TTL = 300.0  # seconds to pick an account after the password was checked
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    return email.strip().lower()


# -- console users -------------------------------------------------------------------------


def check_email(email: str) -> str:
    """The email, normalized, if it is one (the rule of every console user)."""
    email = normalize_email(email)
    if len(email) > 320 or not _EMAIL.match(email):
        raise E.InvalidField(E.PATTERN_MISMATCH, "email", "email is not an email address")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise E.InvalidField(E.INVALID_VALUE, "role", "role must be admin or member")
    return role


def check_password(password: str) -> str:
    """A password a console user may choose (checked before any hash is made)."""
    if len(password) < MIN_PASSWORD:
        raise E.InvalidField(
            E.OUT_OF_RANGE, "password", f"password needs at least {MIN_PASSWORD} characters"
        )
    if len(password) > MAX_PASSWORD:
        raise E.InvalidField(E.TOO_LONG, "password", "password is too long")
    return password


def create_user(
    session: Session, *, account_sid: str, email: str, role: str, password: str
) -> User:
    """A console user (admin or member) of an account, signing in with email and password."""
    email = check_email(email)
    check_role(role)
    check_password(password)
    account = session.scalars(select(Account).where(Account.sid == account_sid)).one_or_none()
    if account is None:
        raise E.NotFound("Account", account_sid, field="account")
    users.check_email_free(session, account_pk=account.pk, email=email)  # before hashing
    return users.create(
        session,
        account_pk=account.pk,
        identity=None,
        role=role,
        email=email,
        password_hash=passwords.hash_password(password),
    )


# -- tokens --------------------------------------------------------------------------------


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


# -- who is signed in ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """Who is signed in to the console, and the CSRF token of their session."""

    session_pk: int
    user_pk: int
    user_sid: str
    email: str
    role: str
    account_pk: int
    account_sid: str
    account_name: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def identity(self) -> str:
        """The end user the console acts as in the Simulator (its messages and verdicts)."""
        return f"console:{self.email}"

    @property
    def principal(self) -> Principal:
        """The console user as the services' caller: their user record, their role."""
        return Principal(
            account_pk=self.account_pk,
            account_sid=self.account_sid,
            credential_sid=self.user_sid,
            role=self.role,
            user_pk=self.user_pk,
            user_sid=self.user_sid,
            identity=self.identity,
        )


def session_user(session: Session, *, token: str) -> ConsoleUser | None:
    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(WebSession, User, Account)
        .join(User, User.pk == WebSession.user_pk)
        .join(Account, Account.pk == WebSession.account_pk)
        .where(
            WebSession.token_hash == token_digest(token),
            WebSession.expires_at > utcnow(),
            User.account_pk == WebSession.account_pk,
            User.role.in_(ROLES),
            User.deactivated_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return None
    ws, user, account = row
    return ConsoleUser(
        session_pk=ws.pk,
        user_pk=user.pk,
        user_sid=user.sid,
        email=user.email or "",
        role=user.role,
        account_pk=account.pk,
        account_sid=account.sid,
        account_name=account.friendly_name,
        csrf_token=csrf_for(token),
    )


def sign_out(session: Session, *, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_digest(token)))
    session.flush()


# -- signing in ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A console user an email may sign in as, with the account it opens."""

    user_pk: int
    user_sid: str
    password_hash: str
    account_pk: int
    account_sid: str
    account_name: str


def candidates(
    session: Session, *, email: str, user_sids: list[str] | None = None
) -> list[Candidate]:
    """The console users (with a password) with this email, in every account (or only
    those of ``user_sids``)."""
    stmt = (
        select(User, Account)
        .join(Account, Account.pk == User.account_pk)
        .where(
            User.email == normalize_email(email),
            User.role.in_(ROLES),
            User.password_hash.is_not(None),
            User.deactivated_at.is_(None),
        )
        .order_by(Account.friendly_name, Account.pk)
    )
    if user_sids is not None:
        stmt = stmt.where(User.sid.in_(user_sids))
    return [
        Candidate(u.pk, u.sid, u.password_hash or "", a.pk, a.sid, a.friendly_name)
        for u, a in session.execute(stmt).all()
    ]


def matching(found: list[Candidate], password: str) -> list[Candidate]:
    """The candidates whose password this is: one check each, one against the dummy hash
    when there is none (CPU and memory heavy: run on the hashing pool)."""
    if not found:
        passwords.verify_password(password, None)
        return []
    return [c for c in found if passwords.verify_password(password, c.password_hash)]


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expires_at: datetime


def open_session(session: Session, *, user_pk: int, account_pk: int, ttl: float) -> NewSession:
    """A new sign-in session for the user (their expired sessions are cleared)."""
    token = new_token()
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    session.execute(
        delete(WebSession).where(WebSession.user_pk == user_pk, WebSession.expires_at <= now)
    )
    session.add(
        WebSession(
            token_hash=token_digest(token),
            account_pk=account_pk,
            user_pk=user_pk,
            expires_at=expires,
            date_created=now,
        )
    )
    session.flush()
    return NewSession(token=token, expires_at=expires)


@dataclass(frozen=True, slots=True)
class TryLater:
    """Refused unchecked: too many attempts (``throttled``), or every check slot taken."""

    retry_after: float
    throttled: bool


@dataclass(frozen=True, slots=True)
class Refused:
    """Wrong password or unknown email (one answer for both)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    created: NewSession


@dataclass(frozen=True, slots=True)
class ChooseAccount:
    """The password opened several accounts: which one? (Only those it opened.)"""

    ticket: str
    accounts: list[tuple[str, str]]  # (Account SID, name)


Outcome = TryLater | Refused | SignedIn | ChooseAccount


class SignIn:
    """Console sign-in for one server process: its throttle, its hashing pool, and the key
    that signs account-choice tickets (``THUMBS_SECRET_KEY``; without one, a key of this
    process, so a pick must come back to the process that asked for it)."""

    def __init__(
        self,
        *,
        throttle: SignInThrottle | None = None,
        checks: PasswordChecks | None = None,
        session_ttl: float = 12 * 3600.0,
        secret_key: str | None = None,
    ) -> None:
        self.throttle = throttle or SignInThrottle()
        self.checks = checks or PasswordChecks()
        self.session_ttl = session_ttl
        root = secret_key.encode("utf-8") if secret_key else secrets.token_bytes(32)
        self._key = hmac.new(root, b"thumbs-console-account-choice", hashlib.sha256).digest()

    @classmethod
    def build(cls, settings: Settings) -> SignIn:
        passwords.configure(settings.hash_profile)
        return cls(
            throttle=SignInThrottle(
                per_email=settings.signin_max_failures,
                per_address=4 * settings.signin_max_failures,
                window=settings.signin_window,
            ),
            checks=PasswordChecks(
                slots=settings.signin_hash_slots, waiting=settings.signin_hash_waiting
            ),
            session_ttl=settings.console_session_ttl,
            secret_key=settings.secret_key,
        )

    def clear(self) -> None:
        self.throttle.clear()

    async def sign_in(
        self, store: Store, *, email: str, password: str, address: str | None, login_token: str
    ) -> Outcome:
        """Check an email and password (see the module doc for the order of things)."""
        attempt = self.throttle.begin(self.throttle.keys(email, address))
        if attempt.retry_after is not None:
            return TryLater(attempt.retry_after, throttled=True)

        def read() -> list[Candidate]:
            with store.session() as s:
                return candidates(s, email=email)

        found = await run_in_threadpool(read)
        try:
            matched = await self.checks.run(partial(matching, found, password))
        except ChecksBusy as busy:
            self.throttle.withdraw(attempt)
            return TryLater(busy.retry_after, throttled=False)
        if not matched:
            return Refused()
        self.throttle.succeeded(attempt)
        if len(matched) == 1:
            return SignedIn(await self._open(store, matched[0]))
        sids = [c.user_sid for c in matched]
        return ChooseAccount(
            ticket=self._ticket(email, sids, login_token),
            accounts=[(c.account_sid, c.account_name) for c in matched],
        )

    async def choose(
        self, store: Store, *, ticket: str, account_sid: str, login_token: str
    ) -> NewSession | None:
        """The session of the account picked with a ticket from :meth:`sign_in`; None when
        the ticket is not genuine, has expired, or does not cover that account."""
        found = self._read_ticket(ticket, login_token)
        if found is None:
            return None
        email, sids = found

        def read() -> list[Candidate]:
            with store.session() as s:
                return candidates(s, email=email, user_sids=sids)

        picked = [c for c in await run_in_threadpool(read) if c.account_sid == account_sid]
        if len(picked) != 1:
            return None
        return await self._open(store, picked[0])

    async def _open(self, store: Store, user: Candidate) -> NewSession:
        def write() -> NewSession:
            with store.session() as s:
                return open_session(
                    s, user_pk=user.user_pk, account_pk=user.account_pk, ttl=self.session_ttl
                )

        return await run_in_threadpool(write)

    # -- account-choice tickets: "expires|email|US…,US…" and its HMAC, bound to the
    # -- sign-in form's own token (so a ticket is of no use in another browser)

    def _mac(self, payload: str, login_token: str) -> str:
        data = f"{payload}|{login_token}".encode("utf-8", "surrogateescape")
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def _ticket(self, email: str, user_sids: list[str], login_token: str) -> str:
        expires = int(time.time() + TICKET_TTL)
        payload = f"{expires}|{normalize_email(email)}|{','.join(user_sids)}"
        return f"{payload}|{self._mac(payload, login_token)}"

    def _read_ticket(self, ticket: str, login_token: str) -> tuple[str, list[str]] | None:
        payload, _, mac = ticket.rpartition("|")
        if not same(mac, self._mac(payload, login_token)):
            return None
        expires, _, rest = payload.partition("|")
        email, _, sids = rest.rpartition("|")  # an email may hold a "|"; a SID never does
        if int(expires) < time.time():
            return None
        return email, sids.split(",")
