"""Users of one account: get-or-create by identity, console users, listing."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import Session

from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store.models import User
from thumbs.store.sql import RawInsert, select_keys

ROLES = ("end_user", "member", "admin")


# built once: building a statement costs more than running it (a thumbs runs several)
_BY_IDENTITY = select(User).where(
    User.account_pk == bindparam("account_pk"), User.identity == bindparam("identity")
)


def find_by_identity(session: Session, *, account_pk: int, identity: str) -> User | None:
    return session.scalars(
        _BY_IDENTITY, {"account_pk": account_pk, "identity": identity}
    ).one_or_none()


def get_or_create(session: Session, *, account_pk: int, identity: str) -> User:
    """The user named ``identity`` in this account, created (role ``end_user``) on first
    use. Safe under concurrency: two requests for a new identity make one row."""
    user = find_by_identity(session, account_pk=account_pk, identity=identity)
    if user is not None:
        return user
    ensure_end_users(session.connection(), wanted={(account_pk, identity)})
    user = find_by_identity(session, account_pk=account_pk, identity=identity)
    assert user is not None
    return user


_USER_COLUMNS = (
    "sid",
    "account_pk",
    "identity",
    "email",
    "password_hash",
    "role",
    "date_created",
    "date_updated",
)
_NAMED = ("pk", "sid", "account_pk", "identity")
_INSERT_END_USERS = RawInsert(
    User.__table__, _USER_COLUMNS, conflict=("account_pk", "identity"), returning=_NAMED
)


def ensure_end_users(
    conn: Connection, *, wanted: Collection[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, str]]:
    """``(account_pk, identity)`` → ``(pk, sid)`` of each named user, the missing ones
    created with role ``end_user``: the one place end users are created, set-based (one
    SELECT; for new names one ``INSERT … ON CONFLICT DO NOTHING`` and, when another
    transaction created some of them meanwhile, one more SELECT), as driver-level
    statements (the create hot path runs this once per batch). Used by
    :func:`get_or_create` and by the create hot path's batches."""
    if not wanted:
        return {}
    found = _users_named(conn, wanted)
    # in one order on every process: two batches creating the same new users wait for each
    # other instead of deadlocking (PostgreSQL)
    missing = sorted(w for w in wanted if w not in found)
    if not missing:
        return found
    now = utcnow()
    created = _INSERT_END_USERS.returning(
        conn, [new_row(account_pk=a, identity=i, role="end_user", now=now) for a, i in missing]
    )
    for pk, sid, account_pk, identity in created:
        found[(account_pk, identity)] = (pk, sid)
    raced = [w for w in missing if w not in found]
    if raced:
        found.update(_users_named(conn, raced))
    return found


def _users_named(
    conn: Connection, wanted: Collection[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, str]]:
    return {
        (account_pk, identity): (pk, sid)
        for pk, sid, account_pk, identity in select_keys(
            conn, cast(Table, User.__table__), _NAMED, ("account_pk", "identity"), wanted
        )
    }


def shown_names(session: Session, *, account_pk: int, pks: set[int]) -> dict[int, str]:
    """How people show in a list (by user pk): their identity, else their email."""
    if not pks:
        return {}
    rows = session.execute(
        select(User.pk, User.identity, User.email).where(
            User.account_pk == account_pk, User.pk.in_(pks)
        )
    )
    return {r.pk: r.identity or r.email or "" for r in rows}


def new_row(
    *,
    account_pk: int,
    identity: str | None,
    role: str,
    now: datetime,
    email: str | None = None,
    password_hash: str | None = None,
) -> dict[str, Any]:
    """The columns of a new user: every user is made from this row, by
    :func:`ensure_end_users` (named end users, on first use) or :func:`create`."""
    return {
        "sid": ids.new_sid(ids.USER),
        "account_pk": account_pk,
        "identity": identity,
        "email": email,
        "password_hash": password_hash,
        "role": role,
        "date_created": now,
        "date_updated": now,
    }


def check_email_free(session: Session, *, account_pk: int, email: str) -> None:
    """409 when a user of this account has the email (emails are unique per account)."""
    taken = select(User.pk).where(User.account_pk == account_pk, User.email == email)
    if session.scalars(taken).first() is not None:
        raise E.Conflict(f"A user with email {email} exists already", field="email")


def create(
    session: Session,
    *,
    account_pk: int,
    identity: str | None,
    role: str,
    email: str | None,
    password_hash: str | None = None,
) -> User:
    """A user with a given role (``POST /v1/Users``; console users, with an email and a
    password hash, through ``thumbs.auth.console``); 409 when the identity or the email is
    taken in the account."""
    if identity is not None and find_by_identity(session, account_pk=account_pk, identity=identity):
        raise E.Conflict(f"A user with identity {identity!r} already exists", field="identity")
    if email is not None:
        check_email_free(session, account_pk=account_pk, email=email)
    user = User(
        **new_row(
            account_pk=account_pk,
            identity=identity,
            role=role,
            now=utcnow(),
            email=email,
            password_hash=password_hash,
        )
    )
    session.add(user)
    session.flush()
    return user


def get(session: Session, *, account_pk: int, sid: str) -> User:
    user = session.scalars(
        select(User).where(User.sid == sid, User.account_pk == account_pk)
    ).one_or_none()
    if user is None:
        raise E.NotFound("User", sid[:64])
    return user


def set_role(session: Session, *, user: User, role: str) -> User:
    user.role = role
    user.date_updated = utcnow()
    session.flush()
    return user


def list_page(
    session: Session, *, account_pk: int, role: str | None, params: PageParams
) -> Page[User]:
    stmt = select(User).where(User.account_pk == account_pk)
    if role is not None:
        stmt = stmt.where(User.role == role)
    return keyset_page(session, stmt, User.pk, params)


def to_out(user: User, *, account_sid: str) -> dict[str, object]:
    return {
        "sid": user.sid,
        "account_sid": account_sid,
        "identity": user.identity,
        "email": user.email,
        "role": user.role,
        "date_created": iso(user.date_created),
        "date_updated": iso(user.date_updated),
    }
