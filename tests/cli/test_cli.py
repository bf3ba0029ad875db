"""The ``thumbs`` CLI, run for real in a subprocess: migrations, accounts and API keys whose
credentials authenticate against a server, the server itself, and bad input refused with a
non-zero exit and one clear line (never a traceback)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.support.http import create_assistant, feedbacks_path
from tests.support.processes import clean_env, no_traceback, run_thumbs
from tests.support.server import LiveServer

thumbs = run_thumbs


@pytest.fixture
def on_server(server: LiveServer) -> dict[str, str]:
    """The environment of the live test server's own database (SQLite or PostgreSQL)."""
    return clean_env(THUMBS_DATABASE_URL=server.runtime.store.url)


def test_db_upgrade_creates_the_default_sqlite_file(fresh: dict[str, str]) -> None:
    before = thumbs("db", "current", env=fresh)
    assert before.returncode == 1
    assert "current: (empty)" in before.stdout
    res = thumbs("db", "upgrade", env=fresh)
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(r"database at \w+\n", res.stdout)
    assert (Path(fresh["THUMBS_DATA_DIR"]) / "thumbs.db").is_file()
    after = thumbs("db", "current", env=fresh)
    assert after.returncode == 0
    head = res.stdout.split()[-1]
    assert after.stdout.strip() == f"current: {head}  head: {head}"
    again = thumbs("db", "upgrade", env=fresh)
    assert (again.returncode, again.stdout) == (0, res.stdout)


def test_accounts_create_json_prints_one_object_that_authenticates(
    server: LiveServer, on_server: dict[str, str]
) -> None:
    res = thumbs("accounts", "create", "--name", "Scripted", "--json", env=on_server)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 1
    created = json.loads(lines[0])
    assert set(created) == {"account_sid", "auth_token"}
    assert re.fullmatch(r"AC[0-9a-f]{32}", created["account_sid"])
    assert re.fullmatch(r"[0-9a-f]{32}", created["auth_token"])
    with server.client(auth=(created["account_sid"], created["auth_token"])) as client:
        assistant_id = create_assistant(client)
        res = client.post(feedbacks_path(assistant_id), json={"session_id": "cli"})
        assert res.status_code == 201
        assert res.json()["account_sid"] == created["account_sid"]


def test_accounts_create_shows_the_token_once_for_humans(on_server: dict[str, str]) -> None:
    res = thumbs("accounts", "create", "--name", "Humans", env=on_server)
    assert res.returncode == 0, res.stderr
    sid = re.search(r"Account SID: (AC[0-9a-f]{32})", res.stdout)
    token = re.search(r"Auth Token: +([0-9a-f]{32})", res.stdout)
    assert sid is not None
    assert token is not None
    assert "cannot be shown again" in res.stdout


def test_keys_create_makes_a_key_for_the_account(
    server: LiveServer, on_server: dict[str, str]
) -> None:
    account = json.loads(
        thumbs("accounts", "create", "--name", "A", "--json", env=on_server).stdout
    )
    res = thumbs(
        "keys",
        "create",
        "--account",
        account["account_sid"],
        "--name",
        "ci",
        "--json",
        env=on_server,
    )
    assert res.returncode == 0, res.stderr
    key = json.loads(res.stdout)
    assert set(key) == {"api_key_sid", "secret", "account_sid"}
    assert re.fullmatch(r"SK[0-9a-f]{32}", key["api_key_sid"])
    assert key["account_sid"] == account["account_sid"]
    with server.client(auth=(key["api_key_sid"], key["secret"])) as client:
        assistant_id = create_assistant(client)
        fetched = client.get(f"/v1/Assistants/{assistant_id}")
        assert fetched.json()["account_sid"] == account["account_sid"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["accounts", "create"], 2, "Missing option '--name'"),
        (["accounts", "create", "--name", ""], 1, "Field 'name' must not be empty"),
        (["accounts", "create", "--name", "   "], 1, "Field 'name' must not be empty"),
        (["accounts", "create", "--name", "n" * 257], 1, "longer than 256 characters"),
        (["keys", "create", "--account", "AC" + "0" * 32], 1, "No account AC" + "0" * 32),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(
    fresh: dict[str, str], args: list[str], code: int, message: str
) -> None:
    res = thumbs(*args, env=fresh)
    assert res.returncode == code, res.stdout + res.stderr
    assert message in res.stderr
    assert res.stdout == ""
    no_traceback(res)


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("nonsense://x", ["accounts", "create", "--name", "x"]),
        ("not a url", ["db", "upgrade"]),
        ("postgresql://postgres:secret@127.0.0.1:1/nothing", ["db", "upgrade"]),
        (
            "postgresql://postgres:secret@127.0.0.1:1/nothing",
            ["keys", "create", "--account", "AC1"],
        ),
    ],
)
def test_an_unusable_database_is_one_clear_line(tmp_path: Path, url: str, args: list[str]) -> None:
    res = thumbs(*args, env=clean_env(THUMBS_DATABASE_URL=url, THUMBS_DATA_DIR=str(tmp_path)))
    assert res.returncode == 1, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "database" in res.stderr.lower()
    assert "secret" not in res.stderr  # the password is never shown
    no_traceback(res)


def test_serve_refuses_an_old_schema_when_told_not_to_migrate(fresh: dict[str, str]) -> None:
    res = thumbs("serve", env={**fresh, "THUMBS_AUTO_MIGRATE": "false"})
    assert res.returncode == 2
    assert "run `thumbs db upgrade`" in res.stderr
    no_traceback(res)


def test_the_readme_flow_on_a_fresh_install(served: str, fresh: dict[str, str]) -> None:
    created = json.loads(
        thumbs("accounts", "create", "--name", "My team", "--json", env=fresh).stdout
    )
    auth = (created["account_sid"], created["auth_token"])
    with httpx.Client(base_url=served, auth=auth) as client:
        assistant_id = create_assistant(client)
        res = client.post(
            feedbacks_path(assistant_id),
            json={"session_id": "demo", "score": 1, "text": "problem resolved"},
        )
        assert res.status_code == 201, res.text
        listed = client.get(feedbacks_path(assistant_id), params={"PageSize": 20}).json()
        assert [f["id"] for f in listed["feedbacks"]] == [res.json()["id"]]
        assert listed["meta"]["first_page_url"].startswith(served)
