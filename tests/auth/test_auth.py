"""HTTP Basic auth, Twilio's way: Account SID + Auth Token or API Key SID + secret, a 401 with
``WWW-Authenticate`` and the error body for anything else, secrets hashed at rest, and
tenants that never see each other: another account's assistant or feedback is a 404 (never
a 403) on every verb, and nothing of it changes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from tests.support.accounts import Account, make_api_key
from tests.support.http import assert_error, create_feedback, feedbacks_path
from tests.support.server import LiveServer
from thumbs.store.models import Account as AccountRow
from thumbs.store.models import ApiKey as ApiKeyRow
from thumbs.store.models import Base


def basic(value: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value).decode()}


def assert_unauthorized(res: httpx.Response) -> None:
    assert_error(res, 401, 20003)
    assert res.headers["www-authenticate"].startswith("Basic")
    assert 'realm="thumbs"' in res.headers["www-authenticate"]


# every Twilio route, with the ids filled in by the test
ROUTES = [
    ("GET", "/v1/Assistants"),
    ("POST", "/v1/Assistants"),
    ("GET", "/v1/Assistants/{aid}"),
    ("PUT", "/v1/Assistants/{aid}"),
    ("DELETE", "/v1/Assistants/{aid}"),
    ("GET", "/v1/Assistants/{aid}/Feedbacks"),
    ("POST", "/v1/Assistants/{aid}/Feedbacks"),
    ("GET", "/v1/Assistants/{aid}/Feedbacks/{fid}"),
    ("PUT", "/v1/Assistants/{aid}/Feedbacks/{fid}"),
    ("DELETE", "/v1/Assistants/{aid}/Feedbacks/{fid}"),
]


@pytest.fixture
def feedback_id(api: httpx.Client, assistant_id: str) -> str:
    return str(create_feedback(api, assistant_id, score=0.5, text="mine")["id"])


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_credentials(
    server: LiveServer, assistant_id: str, feedback_id: str, method: str, path: str
) -> None:
    with server.client() as anonymous:
        res = anonymous.request(
            method, path.format(aid=assistant_id, fid=feedback_id), json={"name": "x"}
        )
    assert_unauthorized(res)


def test_an_unknown_assistant_without_credentials_is_401_not_404(server: LiveServer) -> None:
    with server.client() as anonymous:
        assert_unauthorized(anonymous.get(feedbacks_path("aia_asst_nope")))
        assert_unauthorized(anonymous.post(feedbacks_path("aia_asst_nope"), json={}))


BAD_HEADERS = [
    pytest.param({}, id="no header"),
    pytest.param({"Authorization": ""}, id="empty header"),
    pytest.param({"Authorization": "Basic"}, id="scheme only"),
    pytest.param({"Authorization": "Bearer abc"}, id="bearer token"),
    pytest.param({"Authorization": "Basic !!!not-base64"}, id="not base64"),
    pytest.param(basic(b"no-colon"), id="no colon"),
    pytest.param(basic(b":"), id="empty user and password"),
    pytest.param(basic(b"\xff\xfe:\xff"), id="not UTF-8"),
    pytest.param(basic(b"AC" + b"0" * 32 + b":" + b"0" * 32), id="unknown account"),
    pytest.param(basic(b"SK" + b"0" * 32 + b":" + b"0" * 32), id="unknown API key"),
    pytest.param(basic(b"US" + b"0" * 32 + b":secret"), id="a user SID"),
    pytest.param(basic(b"ACnothex" + b"0" * 26 + b":x"), id="SID not hex"),
]


@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_missing_or_malformed_credentials_are_401(
    server: LiveServer, assistant_id: str, headers: dict[str, str]
) -> None:
    with server.client() as raw:
        assert_unauthorized(raw.get(feedbacks_path(assistant_id), headers=headers))
        assert_unauthorized(
            raw.post(feedbacks_path(assistant_id), json={"session_id": "s"}, headers=headers)
        )


def test_a_wrong_secret_is_401_for_account_and_key(
    server: LiveServer, account: Account, other_account: Account, assistant_id: str
) -> None:
    key = make_api_key(server, account)
    attempts = [
        (account.sid, account.token[:-1] + ("0" if account.token[-1] != "0" else "1")),
        (account.sid, ""),
        (account.sid, account.token.upper() + "x"),
        (account.sid, other_account.token),  # another account's token
        (account.sid, key.secret),  # the key's secret is not the account's token
        (key.sid, account.token),  # nor the other way round
        (account.sid.lower(), account.token),  # SIDs are matched exactly
    ]
    for auth in attempts:
        with server.client(auth=auth) as client:
            assert_unauthorized(client.get(feedbacks_path(assistant_id)))
    # a failure is never cached against the right credentials
    with server.client(auth=(account.sid, account.token)) as client:
        assert client.get(feedbacks_path(assistant_id)).status_code == 200


def test_account_sid_and_auth_token_authenticate(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    header = basic(f"{account.sid}:{account.token}".encode())
    lower_scheme = {"Authorization": header["Authorization"].replace("Basic", "basic")}
    with server.client() as raw:
        for headers in (header, lower_scheme):
            res = raw.post(feedbacks_path(assistant_id), json={"session_id": "s"}, headers=headers)
            assert res.status_code == 201, res.text
            assert res.json()["account_sid"] == account.sid


def test_an_api_key_acts_for_its_account(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    key = make_api_key(server, account)
    assert key.sid.startswith("SK")
    assert len(key.sid) == 34
    with server.client(auth=(key.sid, key.secret)) as client:
        created = client.post(feedbacks_path(assistant_id), json={"session_id": "k"})
        assert created.status_code == 201, created.text
        assert created.json()["account_sid"] == account.sid
        listed = client.get("/v1/Assistants").json()["assistants"]
        assert [a["id"] for a in listed] == [assistant_id]
        assert listed[0]["account_sid"] == account.sid


def test_secrets_are_stored_hashed(server: LiveServer, account: Account) -> None:
    key = make_api_key(server, account)
    with server.runtime.store.session() as session:
        row = session.scalars(select(AccountRow).where(AccountRow.sid == account.sid)).one()
        key_row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.sid == key.sid)).one()
        account_values = [str(getattr(row, c.key)) for c in AccountRow.__table__.columns]
        key_values = [str(getattr(key_row, c.key)) for c in ApiKeyRow.__table__.columns]
    assert not any(account.token in v for v in account_values)
    assert not any(key.secret in v for v in key_values)
    assert row.auth_token_hash.startswith("sha256$")
    assert key_row.secret_hash.startswith("sha256$")
    assert len(row.auth_token_hash) == len("sha256$") + 64
    # no table holds either secret in any column
    with server.runtime.store.session() as session:
        for table in Base.metadata.sorted_tables:
            for values in session.execute(select(table)):
                text = " ".join(str(v) for v in values)
                assert account.token not in text, table.name
                assert key.secret not in text, table.name


# -- tenants -----------------------------------------------------------------------------------


@pytest.fixture
def intruder(server: LiveServer, other_account: Account) -> Iterator[httpx.Client]:
    """The other account's client."""
    with server.client(auth=(other_account.sid, other_account.token)) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), ROUTES[2:])
def test_another_accounts_assistant_and_feedback_are_404_on_every_verb(
    api: httpx.Client,
    intruder: httpx.Client,
    assistant_id: str,
    feedback_id: str,
    method: str,
    path: str,
) -> None:
    before_assistant = api.get(f"/v1/Assistants/{assistant_id}").json()
    before_feedbacks = api.get(feedbacks_path(assistant_id)).json()["feedbacks"]
    body = {"name": "taken", "score": 0, "text": "taken", "session_id": "taken"}
    if method == "PUT" and "Feedbacks" in path:
        body = {"score": 0, "text": "taken"}
    elif method == "PUT":
        body = {"name": "taken"}
    elif method == "POST":
        body = {"session_id": "taken"}
    res = intruder.request(method, path.format(aid=assistant_id, fid=feedback_id), json=body)
    err = assert_error(res, 404, 20404)
    assert api.get(f"/v1/Assistants/{assistant_id}").json() == before_assistant
    assert api.get(feedbacks_path(assistant_id)).json()["feedbacks"] == before_feedbacks
    # the same answer as for an id that exists nowhere
    made_up = {"aid": "aia_asst_" + "0" * 36, "fid": "aia_fdbk_" + "0" * 36}
    nowhere = intruder.request(method, path.format(**made_up), json=body)
    assert_error(nowhere, 404, 20404)
    assert err["details"].keys() == nowhere.json()["details"].keys()


def test_a_feedback_is_not_reachable_through_another_accounts_assistant(
    api: httpx.Client, intruder: httpx.Client, assistant_id: str, feedback_id: str
) -> None:
    own = intruder.post("/v1/Assistants", json={"name": "intruder bot"}).json()["id"]
    path = f"{feedbacks_path(own)}/{feedback_id}"
    assert_error(intruder.get(path), 404, 20404)
    assert_error(intruder.put(path, json={"score": 1}), 404, 20404)
    assert_error(intruder.delete(path), 404, 20404)
    assert intruder.get(feedbacks_path(own)).json()["feedbacks"] == []
    assert [a["id"] for a in intruder.get("/v1/Assistants").json()["assistants"]] == [own]
    assert api.get(f"{feedbacks_path(assistant_id)}/{feedback_id}").json()["text"] == "mine"


def test_a_feedback_is_not_reachable_through_another_assistant_of_the_same_account(
    api: httpx.Client, assistant_id: str, feedback_id: str
) -> None:
    sibling = api.post("/v1/Assistants", json={"name": "sibling"}).json()["id"]
    assert_error(api.get(f"{feedbacks_path(sibling)}/{feedback_id}"), 404, 20404)
    assert api.get(f"{feedbacks_path(assistant_id)}/{feedback_id}").status_code == 200


def test_an_api_key_reaches_only_its_own_account(
    server: LiveServer, other_account: Account, assistant_id: str
) -> None:
    key = make_api_key(server, other_account)
    with server.client(auth=(key.sid, key.secret)) as client:
        assert_error(client.get(feedbacks_path(assistant_id)), 404, 20404)
        assert client.get("/v1/Assistants").json()["assistants"] == []
