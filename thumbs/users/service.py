"""Users of one account: get-or-create by identity, console users, listing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.sql import insert_ignore
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store.models import User

ROLES = ("end_user", "member", "admin")


def find_by_identity(session: Session, *, account_pk: int, identity: str) -> User | None:
    return session.scalars(
        select(User).where(User.account_pk == account_pk, User.identity == identity)
    ).one_or_none()


def get_or_create(session: Session, *, account_pk: int, identity: str) -> User:
    """The user named ``identity`` in this account, created (role ``end_user``) on first
    use. Safe under concurrency: two requests for a new identity make one row."""
    user = find_by_identity(session, account_pk=account_pk, identity=identity)
    if user is not None:
        return user
    now = utcnow()
    insert_ignore(
        session,
        User,
        {
            "sid": ids.new_sid(ids.USER),
            "account_pk": account_pk,
            "identity": identity,
            "role": "end_user",
            "date_created": now,
            "date_updated": now,
        },
        index_elements=["account_pk", "identity"],
    )
    user = find_by_identity(session, account_pk=account_pk, identity=identity)
    assert user is not None
    return user


def create(
    session: Session, *, account_pk: int, identity: str, role: str, email: str | None
) -> User:
    if find_by_identity(session, account_pk=account_pk, identity=identity) is not None:
        raise E.Conflict(f"A user with identity {identity!r} already exists", field="identity")
    if (
        email is not None
        and session.scalars(
            select(User.pk).where(User.account_pk == account_pk, User.email == email)
        ).first()
    ):
        raise E.Conflict("A user with this email already exists", field="email")
    user = User(
        sid=ids.new_sid(ids.USER), account_pk=account_pk, identity=identity, role=role, email=email
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
