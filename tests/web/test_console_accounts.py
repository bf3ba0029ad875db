"""One email in several accounts: users are unique per account, no answer tells one account
about another's users, and console sign-in always lands in an account whose password was
given (asking which one when the same email and password open several)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.support.accounts import Account, make_account
from tests.support.console import csrf_of
from tests.support.server import LiveServer
from thumbs.auth.console import create_user
from thumbs.kit import errors as E
from thumbs.store.models import User, WebSession

EMAIL = "ada@example.com"
SHARED = "the same password in both"
_ACCOUNT_BUTTON = re.compile(r'name="account" value="(AC[0-9a-f]{32})"')


def console_user(server: LiveServer, account: Account, password: str, role: str = "admin") -> str:
    with server.runtime.store.session() as s:
        return create_user(
            s, account_sid=account.sid, email=EMAIL, role=role, password=password
        ).sid


def post_sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    token = csrf_of(client.get("/console/login").text)
    return client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )


def signed_in_account(server: LiveServer, client: httpx.Client) -> int:
    """The account of the one console session (and the console agrees it is signed in)."""
    assert client.get("/console/settings").status_code == 200
    with server.runtime.store.session() as s:
        [row] = s.scalars(select(WebSession)).all()
        return row.account_pk


def test_an_email_of_another_accounts_console_user_is_free_in_the_api(
    server: LiveServer, account: Account, other_account: Account, api: httpx.Client
) -> None:
    console_user(server, other_account, SHARED)
    res = api.post("/v1/Users", json={"identity": "ada", "role": "member", "email": EMAIL})
    assert res.status_code == 201, res.text
    assert res.json()["email"] == EMAIL
    again = api.post("/v1/Users", json={"identity": "ada-2", "email": EMAIL})
    assert again.status_code == 409  # within one account an email is still unique
    assert again.json()["code"] == E.CONFLICT
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        listed = other.get("/v1/Users").json()["users"]
    assert [(u["email"], u["identity"]) for u in listed] == [(EMAIL, None)]
    with server.runtime.store.session() as s:
        rows = s.execute(select(User.account_pk, User.email).order_by(User.pk)).all()
    assert [tuple(r) for r in rows] == [(other_account.pk, EMAIL), (account.pk, EMAIL)]


def test_the_store_refuses_one_email_twice_in_one_account(
    server: LiveServer, account: Account
) -> None:
    console_user(server, account, SHARED)
    with server.runtime.store.sessions() as s:
        s.add(User(sid="US" + "1" * 32, account_pk=account.pk, email=EMAIL, role="member"))
        with pytest.raises(IntegrityError):
            s.flush()


def test_each_password_signs_in_to_its_own_account(
    server: LiveServer, account: Account, other_account: Account
) -> None:
    console_user(server, account, "the first password")
    console_user(server, other_account, "the other password")
    for password, expected in [
        ("the first password", account),
        ("the other password", other_account),
    ]:
        with server.client() as client:
            res = post_sign_in(client, EMAIL, password)
            assert res.status_code == 303, res.text
            assert signed_in_account(server, client) == expected.pk
            client.post(
                "/console/logout",
                data={"csrf_token": csrf_of(client.get("/console/settings").text)},
            )
    with server.client() as client:
        refused = post_sign_in(client, EMAIL, "neither")
        assert refused.status_code == 401
        assert "Email or password is wrong." in refused.text


def test_one_email_and_password_in_several_accounts_asks_which_one_among_them_only(
    server: LiveServer, account: Account, other_account: Account
) -> None:
    third = make_account(server, "third")
    api_only = make_account(server, "api only")
    console_user(server, account, SHARED)
    console_user(server, other_account, SHARED)
    console_user(server, third, "a password of its own")
    with server.client(auth=(api_only.sid, api_only.token)) as api:  # no password: no sign-in
        made = api.post("/v1/Users", json={"identity": "a", "role": "admin", "email": EMAIL})
        assert made.status_code == 201
    with server.client() as client:
        res = post_sign_in(client, EMAIL, SHARED)
        assert res.status_code == 200
        assert "Choose an account" in res.text
        assert sorted(_ACCOUNT_BUTTON.findall(res.text)) == sorted([account.sid, other_account.sid])
        assert third.sid not in res.text
        assert "third" not in res.text
        assert api_only.sid not in res.text
        assert "thumbs_session" not in res.cookies
        ticket = re.search(r'name="ticket" value="([^"]+)"', res.text)
        assert ticket is not None
        form = {"ticket": ticket.group(1), "csrf_token": csrf_of(res.text)}

        # a ticket covers only the accounts its password opened
        stray = client.post("/console/login/account", data={**form, "account": third.sid})
        assert stray.status_code == 401
        assert "That choice has expired. Sign in again." in stray.text
        # and it is bound to the sign-in form of this browser
        with server.client() as elsewhere:
            own = csrf_of(elsewhere.get("/console/login").text)
            moved = elsewhere.post(
                "/console/login/account",
                data={**form, "csrf_token": own, "account": other_account.sid},
            )
            assert moved.status_code == 401
        forged = form["ticket"].rsplit("|", 1)[0] + "|" + "0" * 64
        for bad in ("9" + form["ticket"], forged, "", "no ticket at all"):
            res = client.post(
                "/console/login/account",
                data={**form, "ticket": bad, "account": other_account.sid},
            )
            assert res.status_code == 401
        with server.runtime.store.session() as s:
            assert s.scalars(select(WebSession)).all() == []

        chosen = client.post("/console/login/account", data={**form, "account": other_account.sid})
        assert chosen.status_code == 303
        assert chosen.headers["location"] == "/console/"
        assert signed_in_account(server, client) == other_account.pk
