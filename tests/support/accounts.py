"""Who calls: accounts and API keys (made in the store), users made through the Users API
(``create_user``: an end user or a member, by identity), and console users with a password
(``make_console_user``, made in the store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.server import LiveServer
from thumbs.auth import console as console_auth
from thumbs.auth import service as auth_service

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    sid: str
    token: str
    pk: int


def make_account(live: LiveServer, name: str = "test") -> Account:
    with live.runtime.store.session() as session:
        created = auth_service.create_account(session, name=name)
        return Account(sid=created.account.sid, token=created.auth_token, pk=created.account.pk)


@dataclass(frozen=True)
class ApiKey:
    sid: str
    secret: str


def make_api_key(server: LiveServer, account: Account) -> ApiKey:
    with server.runtime.store.session() as session:
        owner = auth_service.get_account(session, sid=account.sid)
        assert owner is not None
        created = auth_service.create_api_key(session, account=owner, name="tests")
        return ApiKey(sid=created.key.sid, secret=created.secret)


def create_user(api: httpx.Client, identity: str, role: str) -> dict[str, Any]:
    """``POST /v1/Users``: a user of ``api``'s account by identity; the 201 body."""
    res = api.post("/v1/Users", json={"identity": identity, "role": role})
    assert res.status_code == 201, res.text
    return dict(res.json())


@dataclass
class ConsoleUser:
    email: str
    password: str
    sid: str
    pk: int


def make_console_user(
    server: LiveServer, account: Account, email: str, role: str = "admin"
) -> ConsoleUser:
    """A console user of ``account`` who signs in with ``email`` and ``PASSWORD``."""
    with server.runtime.store.session() as s:
        user = console_auth.create_user(
            s, account_sid=account.sid, email=email, role=role, password=PASSWORD
        )
        return ConsoleUser(email=email, password=PASSWORD, sid=user.sid, pk=user.pk)
