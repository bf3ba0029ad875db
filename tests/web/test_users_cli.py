"""``thumbs users create``: console users with argon2-hashed passwords, never echoed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.support.accounts import Account
from tests.support.server import LiveServer
from thumbs.auth import passwords
from thumbs.cli import app
from thumbs.config import get_settings
from thumbs.store.models import User

SECRET = "a long enough passphrase"


@pytest.fixture
def cli(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("THUMBS_DATABASE_URL", server.runtime.store.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def users(server: LiveServer) -> list[User]:
    with server.runtime.store.session() as s:
        return list(s.scalars(select(User)).all())


def test_a_user_is_created_with_the_password_from_stdin(
    cli: CliRunner, server: LiveServer, account: Account
) -> None:
    args = ["users", "create", "--email", "Ops@Example.com", "--role", "admin"]
    res = cli.invoke(app, [*args, "--account", account.sid, "--password-stdin"], input=SECRET)
    assert res.exit_code == 0, res.output
    assert SECRET not in res.output
    [user] = users(server)
    assert res.output.startswith(f"User SID: {user.sid}")
    assert (user.email, user.role, user.account_pk, user.identity) == (
        "ops@example.com",
        "admin",
        account.pk,
        None,
    )
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(SECRET, user.password_hash)


def test_the_password_is_prompted_for_twice_and_never_echoed(
    cli: CliRunner, server: LiveServer, account: Account
) -> None:
    res = cli.invoke(
        app,
        ["users", "create", "--email", "m@example.com", "--account", account.sid, "--json"],
        input=f"{SECRET}\n{SECRET}\n",
    )
    assert res.exit_code == 0, res.output
    assert SECRET not in res.output
    assert "Password:" in res.output
    [user] = users(server)
    assert user.role == "member"
    assert f'"user_sid": "{user.sid}"' in res.output


@pytest.mark.parametrize(
    ("extra", "stdin", "code", "message"),
    [
        (["--role", "owner"], SECRET, 2, "--role must be admin or member"),
        ([], "short", 1, "password needs at least 8 characters"),
        (["--email", "not-an-email"], SECRET, 1, "email is not an email address"),
    ],
)
def test_bad_input_is_refused(
    cli: CliRunner,
    server: LiveServer,
    account: Account,
    extra: list[str],
    stdin: str,
    code: int,
    message: str,
) -> None:
    args = ["users", "create", "--email", "x@example.com", "--account", account.sid]
    res = cli.invoke(app, [*args, *extra, "--password-stdin"], input=stdin)
    assert res.exit_code == code
    assert message in res.output
    assert users(server) == []


def test_an_unknown_account_or_a_taken_email_is_refused(
    cli: CliRunner, server: LiveServer, account: Account
) -> None:
    missing = "AC" + "0" * 32
    args = ["users", "create", "--email", "x@example.com", "--password-stdin"]
    res = cli.invoke(app, [*args, "--account", missing], input=SECRET)
    assert res.exit_code == 1
    assert f"The requested Account {missing} was not found" in res.output
    assert cli.invoke(app, [*args, "--account", account.sid], input=SECRET).exit_code == 0
    res = cli.invoke(app, [*args, "--account", account.sid], input=SECRET)
    assert res.exit_code == 1
    assert "exists already" in res.output
    assert len(users(server)) == 1


def test_one_email_may_be_a_console_user_of_several_accounts(
    cli: CliRunner, server: LiveServer, account: Account, other_account: Account
) -> None:
    args = ["users", "create", "--email", "x@example.com", "--password-stdin"]
    for acc in (account, other_account):
        res = cli.invoke(app, [*args, "--account", acc.sid], input=SECRET)
        assert res.exit_code == 0, res.output
    assert sorted((u.account_pk, u.email) for u in users(server)) == sorted(
        [(account.pk, "x@example.com"), (other_account.pk, "x@example.com")]
    )
