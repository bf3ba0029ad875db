"""API keys: Twilio's Key resource (list, fetch, create, revoke) for the account's Auth Token
only, the same from the CLI, and revocation that holds on every server process within
THUMBS_AUTH_REVOCATION_CHECK seconds, whatever each process's credential cache holds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.support.accounts import Account, make_api_key
from tests.support.http import assert_error
from tests.support.processes import clean_env, run_thumbs, thumbs_servers
from tests.support.server import LiveServer
from thumbs.auth.service import CredentialCache, Principal
from thumbs.store.models import ApiKey

WAIT = 60.0  # seconds a test waits for a refusal: generous, far above the 2 s bound


def refused_within(client: httpx.Client, path: str, deadline: float = WAIT) -> int:
    """Call ``path`` until it answers 401; returns how many calls were still served."""
    served = 0
    end = time.monotonic() + deadline
    while True:
        res = client.get(path)
        if res.status_code == 401:
            return served
        assert res.status_code == 200, res.text
        served += 1
        assert time.monotonic() < end, "the revoked key was still accepted"
        time.sleep(0.1)


def test_keys_are_created_listed_fetched_and_revoked_through_the_api(
    server: LiveServer, api: httpx.Client, account: Account
) -> None:
    created = api.post("/v1/Keys", json={"friendly_name": "ci"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert set(key) == {"sid", "account_sid", "friendly_name", "date_created", "secret"}
    assert (key["account_sid"], key["friendly_name"]) == (account.sid, "ci")
    with server.runtime.store.session() as s:
        row = s.query(ApiKey).filter_by(sid=key["sid"]).one()
        assert key["secret"] not in row.secret_hash

    listed = api.get("/v1/Keys").json()
    assert listed["meta"]["key"] == "keys"
    shown = {k: v for k, v in key.items() if k != "secret"}
    assert listed["keys"] == [shown]
    assert api.get(f"/v1/Keys/{key['sid']}").json() == shown
    unnamed = api.post("/v1/Keys")
    assert (unnamed.status_code, unnamed.json()["friendly_name"]) == (201, "")

    with server.client(auth=(key["sid"], key["secret"])) as by_key:
        assert by_key.get("/v1/Assistants").status_code == 200  # verified, now cached
        assert api.delete(f"/v1/Keys/{key['sid']}").status_code == 204
        # the process that revoked refuses at once
        assert_error(by_key.get("/v1/Assistants"), 401, 20003)
    assert_error(api.get(f"/v1/Keys/{key['sid']}"), 404, 20404)
    assert_error(api.delete(f"/v1/Keys/{key['sid']}"), 404, 20404)
    assert [k["sid"] for k in api.get("/v1/Keys").json()["keys"]] == [unnamed.json()["sid"]]


def test_only_the_auth_token_manages_keys(
    server: LiveServer, api: httpx.Client, account: Account, other_account: Account
) -> None:
    key = make_api_key(server, account)
    with server.client(auth=(key.sid, key.secret)) as by_key:
        assert_error(by_key.get("/v1/Keys"), 403, 60403)
        assert_error(by_key.post("/v1/Keys", json={}), 403, 60403)
        assert_error(by_key.delete(f"/v1/Keys/{key.sid}"), 403, 60403)
        assert by_key.get("/v1/Assistants").status_code == 200
    api.post("/v1/Users", json={"identity": "boss", "role": "admin"})
    assert api.get("/v1/Keys", headers={"X-Thumbs-Identity": "boss"}).status_code == 200
    assert_error(api.get("/v1/Keys", headers={"X-Thumbs-Identity": "end:1"}), 403, 60403)
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        assert_error(other.get(f"/v1/Keys/{key.sid}"), 404, 20404)
        assert_error(other.delete(f"/v1/Keys/{key.sid}"), 404, 20404)
        assert other.get("/v1/Keys").json()["keys"] == []
    with server.client(auth=(key.sid, key.secret)) as by_key:
        assert by_key.get("/v1/Assistants").status_code == 200


def test_the_cli_lists_and_revokes_keys(server: LiveServer, account: Account) -> None:
    env = clean_env(THUMBS_DATABASE_URL=server.runtime.store.url)
    made = run_thumbs(
        "keys", "create", "--account", account.sid, "--name", "ops", "--json", env=env
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)

    listed = run_thumbs("keys", "list", "--account", account.sid, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [shown] = json.loads(listed.stdout)["keys"]
    assert (shown["sid"], shown["friendly_name"]) == (key["api_key_sid"], "ops")
    assert key["secret"] not in listed.stdout
    human = run_thumbs("keys", "list", "--account", account.sid, env=env)
    assert key["api_key_sid"] in human.stdout
    assert key["secret"] not in human.stdout

    with server.client(auth=(key["api_key_sid"], key["secret"])) as by_key:
        assert by_key.get("/v1/Assistants").status_code == 200  # cached by the server
        revoked = run_thumbs("keys", "revoke", key["api_key_sid"], env=env)
        assert revoked.returncode == 0, revoked.stderr
        assert f"Revoked {key['api_key_sid']}" in revoked.stdout
        refused_within(by_key, "/v1/Assistants")
    again = run_thumbs("keys", "revoke", key["api_key_sid"], env=env)
    assert (again.returncode, again.stderr.strip()) == (1, f"No API key {key['api_key_sid']}")
    nobody = run_thumbs("keys", "list", "--account", "AC" + "0" * 32, env=env)
    assert nobody.returncode == 1
    assert "Traceback" not in nobody.stderr


def test_a_key_revoked_through_one_server_is_refused_by_another(
    server: LiveServer, account: Account, tmp_path: Path
) -> None:
    """Two real server processes on one store, each caching credentials for an hour: a key
    revoked through the first is refused by the second once its revocation check runs."""
    key = make_api_key(server, account)
    env = clean_env(
        THUMBS_DATABASE_URL=server.runtime.store.url,
        THUMBS_AUTH_CACHE_TTL="3600",
        THUMBS_AUTO_MIGRATE="false",
    )
    with thumbs_servers(env, tmp_path / "one.log", tmp_path / "two.log") as (one, two):
        clients = [httpx.Client(base_url=url, auth=(key.sid, key.secret)) for url in (one, two)]
        try:
            for client in clients:
                for _ in range(3):  # verified once, then served from the cache
                    assert client.get("/v1/Assistants").status_code == 200
            with httpx.Client(base_url=one, auth=(account.sid, account.token)) as admin:
                assert admin.delete(f"/v1/Keys/{key.sid}").status_code == 204
            assert_error(clients[0].get("/v1/Assistants"), 401, 20003)
            refused_within(clients[1], "/v1/Assistants")
            for client in clients:
                assert_error(client.get("/v1/Assistants"), 401, 20003)
        finally:
            for client in clients:
                client.close()


def _principal(sid: str) -> Principal:
    return Principal(account_pk=1, account_sid=sid, credential_sid=sid)


def test_the_cache_trusts_nothing_older_than_the_last_revocation() -> None:
    cache = CredentialCache(ttl=3600, recheck=3600)
    assert cache.needs_check()  # the epoch was never read
    cache.confirm(7, started=time.monotonic())
    assert not cache.needs_check()
    cache.put("Basic a", _principal("ACa"), generation=cache.generation)
    assert cache.get("Basic a") == _principal("ACa")
    cache.confirm(7, started=time.monotonic())  # unchanged: kept
    assert cache.get("Basic a") == _principal("ACa")

    verifying_since = cache.generation  # a verification starts…
    cache.confirm(8, started=time.monotonic())  # …a revocation is seen meanwhile…
    assert cache.get("Basic a") is None
    cache.put("Basic b", _principal("ACb"), generation=verifying_since)  # …its result is dropped
    assert cache.get("Basic b") is None
    cache.put("Basic b", _principal("ACb"), generation=cache.generation)
    assert cache.get("Basic b") == _principal("ACb")

    always = CredentialCache(ttl=3600, recheck=0)
    always.confirm(1, started=time.monotonic())
    assert always.needs_check()  # 0: every cache hit re-reads the epoch
