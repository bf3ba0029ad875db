"""Users: end users by identity, console members and admins."""

from __future__ import annotations

from typing import cast

import httpx
from sqlalchemy import Table

from tests.support.accounts import Account, create_user, make_account
from tests.support.plans import generic_plan
from tests.support.server import LiveServer
from thumbs.store.models import User
from thumbs.store.sql import keys_sql_postgresql, select_keys
from thumbs.users.service import ensure_end_users


def test_admins_create_users_and_members_read_them(api: httpx.Client) -> None:
    member = create_user(api, "email:m@example.com", "member")
    assert member["sid"].startswith("US")
    assert member["role"] == "member"
    duplicate = api.post("/v1/Users", json={"identity": "email:m@example.com"})
    assert duplicate.status_code == 409

    as_member = {"X-Thumbs-Identity": "email:m@example.com"}
    listed = api.get("/v1/Users", headers=as_member).json()
    assert [u["sid"] for u in listed["users"]] == [member["sid"]]
    assert api.get(f"/v1/Users/{member['sid']}", headers=as_member).json() == member
    res = api.post("/v1/Users", json={"identity": "x", "role": "admin"}, headers=as_member)
    assert res.status_code == 403


def test_promoting_a_member_to_admin_takes_effect_at_once(api: httpx.Client) -> None:
    member = create_user(api, "ops:1", "member")
    as_user = {"X-Thumbs-Identity": "ops:1"}
    assert api.get("/v1/Review", headers=as_user).status_code == 403
    res = api.put(f"/v1/Users/{member['sid']}", json={"role": "admin"})
    assert res.status_code == 200
    assert api.get("/v1/Review", headers=as_user).status_code == 200


def test_user_input_is_validated(api: httpx.Client) -> None:
    assert api.post("/v1/Users", json={"identity": "", "role": "member"}).status_code == 400
    assert api.post("/v1/Users", json={"identity": "a", "role": "owner"}).status_code == 400
    assert api.get("/v1/Review", headers={"X-Thumbs-Identity": "x" * 300}).status_code == 400


def test_users_of_another_account_are_not_found(server: LiveServer, api: httpx.Client) -> None:
    user = create_user(api, "ops:1", "member")
    other = make_account(server, "other")
    with server.client(auth=(other.sid, other.token)) as intruder:
        assert intruder.get(f"/v1/Users/{user['sid']}").status_code == 404
        # the same identity in another account is another user, with no role there
        as_ops = {"X-Thumbs-Identity": "ops:1"}
        assert intruder.get("/v1/Settings/Feedback", headers=as_ops).status_code == 403


def test_end_users_are_found_by_their_exact_account_and_identity(
    server: LiveServer, account: Account
) -> None:
    """A batch's end users are looked up by (account, identity) pairs: each pair on the
    unique index, never another account's user of the same identity, nor the pairs a
    cross product of the two lists would add."""
    other = make_account(server)
    engine = server.runtime.store.engine
    with engine.begin() as conn:
        made = ensure_end_users(
            conn,
            wanted={(account.pk, "u1"), (account.pk, "u2"), (other.pk, "u3"), (other.pk, "u1")},
        )
    assert len({pk for pk, _ in made.values()}) == 4
    with engine.begin() as conn:
        again = ensure_end_users(conn, wanted={(account.pk, "u1"), (other.pk, "u3")})
        assert again == {k: made[k] for k in [(account.pk, "u1"), (other.pk, "u3")]}
        # (account, u3) and (other, u2) are pairs of the lists, not of the batch
        rows = select_keys(
            conn,
            cast(Table, User.__table__),
            ("pk", "account_pk", "identity"),
            ("account_pk", "identity"),
            [(account.pk, "u1"), (other.pk, "u3"), (account.pk, "nobody")],
        )
        assert sorted(rows) == sorted(
            [
                (made[(account.pk, "u1")][0], account.pk, "u1"),
                (made[(other.pk, "u3")][0], other.pk, "u3"),
            ]
        )
        if conn.dialect.name == "postgresql":
            # one lookup per pair on the unique index, however many users the accounts have
            # whatever the statistics say (a table of a few users is read whole otherwise)
            many = {(account.pk, f"crowd-{n}") for n in range(300)}
            ensure_end_users(conn, wanted=many)
            conn.exec_driver_sql("ANALYZE users")
            sql = keys_sql_postgresql(
                conn, cast(Table, User.__table__), ("pk",), ("account_pk", "identity")
            )
            plan = generic_plan(conn, sql, f"'{{{account.pk}}}'", "'{u1}'")
            assert "Index Scan using uq_users_account_pk_identity" in plan, plan
            assert "(account_pk = w.account_pk) AND" in plan, plan
            assert "Seq Scan on users" not in plan, plan
            assert "Hash" not in plan, plan
