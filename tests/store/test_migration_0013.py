"""Migration 0013: the email and password-link indexes of ``users`` hold console users
only. Emails stay unique within an account, and a lookup by identity is planned on the
identity index even before the database has any statistics of ``users``."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, text
from sqlalchemy.exc import IntegrityError

from tests.store.migrations import engine_at, upgrade_to_head
from tests.store.seed import account_and_assistant
from tests.support.plans import generic_plan
from thumbs.store import migrate
from thumbs.store.models import User
from thumbs.store.sql import keys_sql_postgresql

_INSERT = text(
    "INSERT INTO users (sid, account_pk, identity, email, password_link_hash, role, "
    "date_created, date_updated) VALUES (:sid, :account_pk, :identity, :email, :link, :role, "
    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def _user(
    conn: Connection,
    account_pk: int,
    sid: str,
    *,
    identity: str | None = None,
    email: str | None = None,
    link: str | None = None,
) -> None:
    role = "end_user" if identity else "member"
    conn.execute(
        _INSERT,
        {
            "sid": sid,
            "account_pk": account_pk,
            "identity": identity,
            "email": email,
            "link": link,
            "role": role,
        },
    )


def _refused(conn: Connection, account_pk: int, **values: str) -> bool:
    try:
        with conn.begin_nested():
            _user(conn, account_pk, "US" + "f" * 32, **values)
    except IntegrityError:
        return True
    return False


def test_emails_and_links_stay_unique_and_end_users_are_not_indexed_by_them(
    empty_database: str,
) -> None:
    url = empty_database
    with engine_at(url, "0012") as engine:
        with engine.begin() as conn:
            account_pk, _ = account_and_assistant(conn)
            _user(conn, account_pk, "US" + "1" * 32, email="ann@example.com", link="d" * 64)
        migrate.upgrade(url, "0013")
        with engine.begin() as conn:
            other_pk, _ = account_and_assistant(conn)
            for n in range(3):  # end users: no email, no link
                _user(conn, account_pk, f"US{n:032x}", identity=f"end-user-{n}")
            assert _refused(conn, account_pk, email="ann@example.com")
            assert _refused(conn, other_pk, link="d" * 64)
            assert not _refused(conn, other_pk, email="ann@example.com")
        migrate.downgrade(url, "0012")
        with engine.begin() as conn:
            assert _refused(conn, account_pk, email="ann@example.com")
        upgrade_to_head(url, engine)


END_USERS = 300  # few enough that, unanalysed, both indexes cost alike without the fix


def test_a_lookup_by_identity_uses_the_identity_index_before_any_statistics(
    empty_database: str,
) -> None:
    """A new database: no ANALYZE has run (autovacuum has not come by yet). The generic
    plan a long-lived connection keeps for the writer's end-user lookup, and for the
    lookup of one user, must find each user on the (account, identity) index, not read
    every user of the account through another index that leads with the account."""
    url = empty_database
    with engine_at(url, "head") as engine, engine.begin() as conn:
        account_pk, _ = account_and_assistant(conn)
        _user(conn, account_pk, "US" + "e" * 32, email="ann@example.com")
        for n in range(END_USERS):
            _user(conn, account_pk, f"US{n:032x}", identity=f"end-user-{n}")
        one = "SELECT pk FROM users WHERE account_pk = %s AND identity = %s"
        if conn.dialect.name == "postgresql":
            batch = keys_sql_postgresql(
                conn, cast(Table, User.__table__), ("pk",), ("account_pk", "identity")
            )
            plans = [
                generic_plan(conn, batch, f"'{{{account_pk}}}'", "'{end-user-7}'"),
                generic_plan(conn, one, str(account_pk), "'end-user-7'"),
            ]
            for plan in plans:
                assert "using uq_users_account_pk_identity" in plan, plan
                assert "account_pk_email" not in plan, plan
                assert "Seq Scan" not in plan, plan
        else:
            plan = " ".join(
                str(r[-1])
                for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + one.replace("%s", "?"), (account_pk, "end-user-7")
                )
            )
            # the unique constraint's index (SQLite names it sqlite_autoindex_users_…)
            assert "INDEX sqlite_autoindex_users_" in plan, plan
            assert "(account_pk=? AND identity=?)" in plan, plan
