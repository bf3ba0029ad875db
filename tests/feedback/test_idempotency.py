"""Retry-safe creates: ``I-Twilio-Idempotency-Token`` (or ``Idempotency-Key``) on a feedback
create. A retry returns the first response and creates nothing; the same token for another
request is a 422; tokens belong to one account; concurrent retries make exactly one row."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from tests.support.accounts import Account
from tests.support.http import assert_error, create_assistant, feedbacks_path
from tests.support.server import LiveServer
from thumbs.store.models import Feedback, IdempotencyKey, User

TOKEN = "I-Twilio-Idempotency-Token"


def stored(server: LiveServer) -> list[Feedback]:
    with server.runtime.store.session() as session:
        rows = list(session.scalars(select(Feedback)).all())
        session.expunge_all()
        return rows


def keys(server: LiveServer) -> int:
    with server.runtime.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


@pytest.mark.parametrize("header", [TOKEN, "Idempotency-Key"])
def test_a_retry_returns_the_first_response_and_creates_nothing(
    api: httpx.Client, server: LiveServer, assistant_id: str, header: str
) -> None:
    body = {"session_id": "s", "score": 0.5, "text": "once"}
    first = api.post(feedbacks_path(assistant_id), json=body, headers={header: "retry-1"})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    for _ in range(3):
        again = api.post(feedbacks_path(assistant_id), json=body, headers={header: "retry-1"})
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content  # same id, same dates, byte for byte
    [row] = stored(server)
    assert row.id == first.json()["id"]
    assert keys(server) == 1


def test_without_a_token_every_post_creates(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    for _ in range(2):
        assert api.post(feedbacks_path(assistant_id), json={"session_id": "s"}).status_code == 201
    assert len(stored(server)) == 2
    assert keys(server) == 0


def test_different_tokens_make_different_feedback(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    ids = {
        api.post(feedbacks_path(assistant_id), json={"session_id": "s"}, headers={TOKEN: t}).json()[
            "id"
        ]
        for t in ("a", "b", "A")  # tokens are case-sensitive
    }
    assert len(ids) == 3
    assert len(stored(server)) == 3


@pytest.mark.parametrize(
    "second",
    [
        {"session_id": "s", "score": 0.4},
        {"session_id": "s", "score": 0.5, "text": "extra"},
        {"session_id": "other", "score": 0.5},
        {"session_id": "s", "score": 0.5, "message_id": "aia_msg_1"},
    ],
)
def test_the_same_token_with_another_body_is_422(
    api: httpx.Client, server: LiveServer, assistant_id: str, second: dict[str, object]
) -> None:
    first = api.post(
        feedbacks_path(assistant_id), json={"session_id": "s", "score": 0.5}, headers={TOKEN: "k"}
    )
    assert first.status_code == 201
    res = api.post(feedbacks_path(assistant_id), json=second, headers={TOKEN: "k"})
    assert_error(res, 422, 60422, field=TOKEN)
    assert [r.id for r in stored(server)] == [first.json()["id"]]


def test_the_same_token_on_another_assistant_is_422(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    other = create_assistant(api, "Other bot")
    body = {"session_id": "s"}
    assert (
        api.post(feedbacks_path(assistant_id), json=body, headers={TOKEN: "k"}).status_code == 201
    )
    res = api.post(feedbacks_path(other), json=body, headers={TOKEN: "k"})
    assert_error(res, 422, 60422, field=TOKEN)
    assert len(stored(server)) == 1


def test_the_two_header_names_share_one_key(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    body = {"session_id": "s"}
    first = api.post(feedbacks_path(assistant_id), json=body, headers={TOKEN: "k"})
    again = api.post(feedbacks_path(assistant_id), json=body, headers={"Idempotency-Key": "k"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_tokens_belong_to_one_account(
    api: httpx.Client, server: LiveServer, other_account: Account, assistant_id: str
) -> None:
    mine = api.post(feedbacks_path(assistant_id), json={"session_id": "s"}, headers={TOKEN: "k"})
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        theirs_assistant = create_assistant(other, "Theirs")
        theirs = other.post(
            feedbacks_path(theirs_assistant), json={"session_id": "s"}, headers={TOKEN: "k"}
        )
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["account_sid"] == other_account.sid
    assert len(stored(server)) == 2


@pytest.mark.parametrize(
    ("value", "code"),
    [("", 60011), ("k" * 257, 60005)],
    ids=["empty", "257"],
)
@pytest.mark.parametrize("header", [TOKEN, "Idempotency-Key"])
def test_an_invalid_token_is_400(
    api: httpx.Client, server: LiveServer, assistant_id: str, header: str, value: str, code: int
) -> None:
    res = api.post(feedbacks_path(assistant_id), json={"session_id": "s"}, headers={header: value})
    assert_error(res, 400, code, field=header)
    assert stored(server) == []


def test_both_headers_must_agree(api: httpx.Client, server: LiveServer, assistant_id: str) -> None:
    path = feedbacks_path(assistant_id)
    body = {"session_id": "s"}
    differ = api.post(path, json=body, headers={TOKEN: "a", "Idempotency-Key": "b"})
    assert_error(differ, 400, 60010, field="Idempotency-Key")
    too_long = api.post(path, json=body, headers={TOKEN: "a", "Idempotency-Key": "b" * 257})
    assert_error(too_long, 400, 60005, field="Idempotency-Key")
    assert stored(server) == []
    same = api.post(path, json=body, headers={TOKEN: "a", "Idempotency-Key": "a"})
    assert same.status_code == 201
    again = api.post(path, json=body, headers={TOKEN: "a"})
    assert again.json()["id"] == same.json()["id"]


def test_a_token_of_256_characters_is_kept(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    token = "k" * 256
    first = api.post(feedbacks_path(assistant_id), json={"session_id": "s"}, headers={TOKEN: token})
    again = api.post(feedbacks_path(assistant_id), json={"session_id": "s"}, headers={TOKEN: token})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]


def test_a_refused_request_does_not_consume_its_token(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    bad = api.post(
        feedbacks_path(assistant_id), json={"session_id": "s", "score": 2}, headers={TOKEN: "k"}
    )
    assert_error(bad, 400, 60004, field="score")
    good = api.post(
        feedbacks_path(assistant_id), json={"session_id": "s", "score": 1}, headers={TOKEN: "k"}
    )
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers


def test_concurrent_retries_with_one_token_create_exactly_one_row(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    body = {"session_id": "race", "score": 1}

    def post(_: int) -> httpx.Response:
        with server.client(auth=(account.sid, account.token)) as client:
            return client.post(feedbacks_path(assistant_id), json=body, headers={TOKEN: "race"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(post, range(32)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(1 for r in responses if "idempotent-replayed" not in r.headers) == 1
    assert len(stored(server)) == 1
    assert keys(server) == 1


def test_concurrent_different_bodies_with_one_token_create_one_and_refuse_the_rest(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    def post(i: int) -> httpx.Response:
        with server.client(auth=(account.sid, account.token)) as client:
            return client.post(
                feedbacks_path(assistant_id),
                json={"session_id": f"s{i}"},
                headers={TOKEN: "contested"},
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))
    assert sorted(r.status_code for r in responses) == [201] + [422] * 7
    [row] = stored(server)
    winner = next(r for r in responses if r.status_code == 201)
    assert row.id == winner.json()["id"]


def test_an_end_user_first_named_by_a_refused_create_is_made_by_the_next_one(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    """The refused create's transaction made the user and rolled back: the process must not
    remember a user that was never committed."""
    path = feedbacks_path(assistant_id)
    assert api.post(path, json={"session_id": "s"}, headers={TOKEN: "t"}).status_code == 201
    named = {"X-Thumbs-Identity": "first-seen-here"}
    refused = api.post(path, json={"session_id": "other"}, headers={TOKEN: "t", **named})
    assert refused.status_code == 422
    for _ in range(2):
        res = api.post(path, json={"session_id": "s"}, headers=named)
        assert res.status_code == 201, res.text
        assert res.json()["user_sid"] == user_sid(server, "first-seen-here")


def user_sid(server: LiveServer, identity: str) -> str:
    with server.runtime.store.sessions() as session:
        return str(session.scalar(select(User.sid).where(User.identity == identity)))
