"""Console users as an admin manages them (no HTTP here): invitations, roles, deactivation
and one-time set-password links.

Set-password links
------------------
An admin invites a console user with an email and a role; the new user has no password,
only a set-password link for the admin to pass on (thumbs sends no email). A reset makes a
new link for an existing user. A link carries a 256-bit random token; the store keeps only
its SHA-256 digest (``users.password_link_hash``) and its expiry (:data:`LINK_TTL`). A user
has at most one pending link: a new one replaces the old. Using a link sets the password,
spends the link (a conditional update, so two uses cannot both win), ends every session of
the user and signs them in. Until then a reset changes nothing: the old password still
works, so a reset made by mistake locks no one out (to lock someone out, deactivate them).

Rules
-----
- Roles are ``admin`` and ``member`` (:func:`thumbs.auth.console.check_role`); an email is
  unique within the account (:func:`thumbs.users.service.check_email_free`).
- An account keeps at least one admin who can sign in: the last one is neither demoted nor
  deactivated.
- No one deactivates themselves. A deactivated user cannot sign in, their sessions end at
  once and their pending link is dropped; reactivating gives them back their password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from thumbs.auth import console, passwords
from thumbs.auth.passwords import PasswordChecks
from thumbs.kit import errors as E
from thumbs.kit.timefmt import utcnow
from thumbs.store.engine import Store
from thumbs.store.models import User, WebSession
from thumbs.users import service as users

LINK_TTL = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Member:
    """A console user as the users page lists them."""

    user: User
    status: str  # active | invited | no password | deactivated

    @property
    def link_pending(self) -> bool:
        return self.user.password_link_hash is not None


def status_of(user: User) -> str:
    if user.deactivated_at is not None:
        return "deactivated"
    if user.password_hash is not None:
        return "active"
    return "invited" if user.password_link_hash is not None else "no password"


def members(session: Session, *, account_pk: int) -> list[Member]:
    """Every admin and member of the account, by email."""
    stmt = (
        select(User)
        .where(User.account_pk == account_pk, User.role.in_(console.ROLES))
        .order_by(User.email, User.pk)
    )
    return [Member(u, status_of(u)) for u in session.scalars(stmt)]


def get(session: Session, *, account_pk: int, sid: str) -> User:
    """The account's console user ``sid`` (another account's, or an end user, is not found)."""
    user = users.get(session, account_pk=account_pk, sid=sid)
    if user.role not in console.ROLES:
        raise E.NotFound("User", sid[:64])
    return user


# -- set-password links ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewLink:
    user: User
    token: str  # shown once, to the admin who made it
    expires_at: datetime


def _issue_link(session: Session, user: User) -> NewLink:
    token = console.new_token()
    expires = utcnow() + LINK_TTL
    user.password_link_hash = console.token_digest(token)
    user.password_link_expires = expires
    user.date_updated = utcnow()
    session.flush()
    return NewLink(user=user, token=token, expires_at=expires)


def invite(session: Session, *, account_pk: int, email: str, role: str) -> NewLink:
    """A new console user without a password, and the link with which they choose one."""
    email = console.check_email(email)
    console.check_role(role)
    user = users.create(session, account_pk=account_pk, identity=None, role=role, email=email)
    return _issue_link(session, user)


def reset_password(session: Session, *, user: User) -> NewLink:
    """A new set-password link for the user (replacing any pending one); their password
    keeps working until the link is used."""
    if user.deactivated_at is not None:
        raise E.Conflict(f"{user.email} is deactivated: reactivate them first", field="user")
    if not user.email:
        raise E.Conflict("This user has no email to sign in with", field="user")
    return _issue_link(session, user)


def linked_user(session: Session, *, token: str) -> User | None:
    """The user a set-password link is for, while it is valid."""
    if not token or len(token) > 128:
        return None
    return session.scalars(
        select(User).where(
            User.password_link_hash == console.token_digest(token),
            User.password_link_expires > utcnow(),
            User.deactivated_at.is_(None),
            User.role.in_(console.ROLES),
        )
    ).one_or_none()


async def use_link(
    store: Store, checks: PasswordChecks, *, token: str, password: str, ttl: float
) -> console.NewSession | None:
    """Set the password of the link's user, spend the link, end the user's sessions and
    open a new one. None when the link is unknown, expired or already used. The hash is
    made on the password pool (``checks``: may raise ``ChecksBusy``)."""
    console.check_password(password)

    def read() -> User | None:
        with store.session() as s:
            return linked_user(s, token=token)

    found = await run_in_threadpool(read)
    if found is None:
        return None
    hashed = await checks.run(partial(passwords.hash_password, password))

    def write() -> console.NewSession | None:
        with store.session() as s:
            spent = s.execute(
                update(User)
                .where(
                    User.pk == found.pk,
                    User.password_link_hash == console.token_digest(token),
                    User.password_link_expires > utcnow(),
                    User.deactivated_at.is_(None),
                )
                .values(
                    password_hash=hashed,
                    password_link_hash=None,
                    password_link_expires=None,
                    date_updated=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            if not getattr(spent, "rowcount", 0):
                return None
            end_sessions(s, user_pk=found.pk)
            return console.open_session(s, user_pk=found.pk, account_pk=found.account_pk, ttl=ttl)

    return await run_in_threadpool(write)


# -- roles and deactivation ------------------------------------------------------------------


def _admins_left(session: Session, *, account_pk: int, without: int) -> int:
    """Admins of the account who can sign in, other than user ``without``."""
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.account_pk == account_pk,
                User.role == "admin",
                User.deactivated_at.is_(None),
                User.password_hash.is_not(None),
                User.pk != without,
            )
        )
        or 0
    )


def _keep_an_admin(session: Session, user: User) -> None:
    if user.role == "admin" and not _admins_left(
        session, account_pk=user.account_pk, without=user.pk
    ):
        raise E.Conflict(
            f"{user.email} is the last admin who can sign in: make another admin first",
            field="user",
        )


def set_role(session: Session, *, user: User, role: str) -> User:
    """Make a console user an admin or a member (the last admin stays one)."""
    console.check_role(role)
    if role != user.role:
        _keep_an_admin(session, user)
    return users.set_role(session, user=user, role=role)


def deactivate(session: Session, *, user: User, by_user_pk: int) -> User:
    """The user can no longer sign in; their sessions end and their link is dropped."""
    if user.pk == by_user_pk:
        raise E.Conflict("You cannot deactivate yourself: ask another admin", field="user")
    if user.deactivated_at is None:
        _keep_an_admin(session, user)
        user.deactivated_at = utcnow()
    user.password_link_hash = None
    user.password_link_expires = None
    user.date_updated = utcnow()
    end_sessions(session, user_pk=user.pk)
    session.flush()
    return user


def reactivate(session: Session, *, user: User) -> User:
    user.deactivated_at = None
    user.date_updated = utcnow()
    session.flush()
    return user


def end_sessions(session: Session, *, user_pk: int) -> None:
    """Sign the user out everywhere."""
    session.execute(delete(WebSession).where(WebSession.user_pk == user_pk))
    session.flush()
