"""The Twilio-compatible create links its feedback to what thumbs knows, inside the
group-commit batch: the logged message it rates and the end user named by identity."""

from __future__ import annotations

import httpx
import orjson
from sqlalchemy import select

from tests.support.accounts import Account
from tests.support.lifecycle import log_turn
from tests.support.server import LiveServer
from thumbs.feedback import jobs as feedback_jobs
from thumbs.feedback import service as feedback_service
from thumbs.feedback.schemas import FeedbackCreate
from thumbs.store.models import Feedback, Message, User


def _stored(server: LiveServer, feedback_id: str) -> Feedback:
    with server.runtime.store.sessions() as session:
        return session.scalars(select(Feedback).where(Feedback.id == feedback_id)).one()


def test_feedback_on_a_logged_message_is_linked_to_it(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    reply_id = log_turn(api, assistant_id, session_id="chat-9")
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "chat-9", "message_id": reply_id, "score": 0.9},
    )
    assert res.status_code == 201, res.text
    row = _stored(server, res.json()["id"])
    with server.runtime.store.sessions() as session:
        message = session.scalars(select(Message).where(Message.id == reply_id)).one()
    assert row.message_pk == message.pk
    assert row.feedback_type == "positive"


def test_feedback_on_a_message_logged_elsewhere_is_kept_unlinked(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "s", "message_id": "aia_msg_elsewhere", "score": 0.1},
    )
    assert res.status_code == 201, res.text
    row = _stored(server, res.json()["id"])
    assert row.message_id == "aia_msg_elsewhere"
    assert row.message_pk is None
    assert row.feedback_type == "negative"


def test_feedback_names_its_end_user_by_identity(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "s", "score": 1},
        headers={"X-Thumbs-Identity": "email:ann@example.com"},
    )
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["user_sid"].startswith("US")
    row = _stored(server, body["id"])
    with server.runtime.store.sessions() as session:
        user = session.scalars(select(User).where(User.identity == "email:ann@example.com")).one()
    assert (row.user_pk, row.user_sid) == (user.pk, user.sid) == (user.pk, body["user_sid"])


def test_a_batch_creates_each_named_user_once_and_reuses_the_known_ones(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    known = api.post("/v1/Users", json={"identity": "known", "role": "member"}).json()
    with server.runtime.store.sessions() as session:
        ref = feedback_service.assistant_ref(
            session, account_pk=account.pk, assistant_id=assistant_id
        )
    names = ["known", "new:1", "new:1", "new:2"]
    jobs = [
        feedback_service.prepare_create(
            ref=ref,
            account_sid=account.sid,
            data=FeedbackCreate(session_id="s", score=1),
            idempotency_key=None,
            identity=name,
        )
        for name in names
    ]
    with server.runtime.store.engine.begin() as conn:
        results = feedback_jobs.CREATE_KIND.write_many(conn, jobs)

    with server.runtime.store.sessions() as session:
        users = {
            u.identity: u
            for u in session.scalars(select(User).where(User.account_pk == account.pk))
        }
        rows = {
            f.id: f for f in session.scalars(select(Feedback).where(Feedback.session_id == "s"))
        }
    assert sorted(users) == ["known", "new:1", "new:2"]
    assert (users["known"].sid, users["known"].role) == (known["sid"], "member")
    assert (users["new:1"].role, users["new:2"].role) == ("end_user", "end_user")
    for name, job, result in zip(names, jobs, results, strict=True):
        row = rows[job.row["id"]]
        assert (row.user_pk, row.user_sid) == (users[name].pk, users[name].sid)
        assert orjson.loads(result.body)["user_sid"] == users[name].sid


def test_each_row_of_a_batch_links_to_its_own_logged_message_in_its_own_account(
    server: LiveServer,
    account: Account,
    other_account: Account,
    api: httpx.Client,
    assistant_id: str,
) -> None:
    """One batch, one insert: every row's message is looked up with that row's own id and
    account (the statement names each row's values by position), never another row's,
    and a message logged in another account is not linked."""
    replies = [log_turn(api, assistant_id, session_id=f"chat-{n}") for n in range(3)]
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        theirs_assistant = other.post("/v1/Assistants", json={"name": "theirs"}).json()["id"]
        theirs = log_turn(other, theirs_assistant, session_id="their-chat")
    with server.runtime.store.sessions() as session:
        ref = feedback_service.assistant_ref(
            session, account_pk=account.pk, assistant_id=assistant_id
        )
        pks = dict(
            session.execute(select(Message.id, Message.pk).where(Message.id.in_(replies))).all()
        )
    named = [replies[2], None, "aia_msg_never_logged", theirs, replies[0], replies[2]]
    jobs = [
        feedback_service.prepare_create(
            ref=ref,
            account_sid=account.sid,
            data=FeedbackCreate(session_id=f"s-{n}", message_id=mid, score=n / 10),
            idempotency_key=None,
        )
        for n, mid in enumerate(named)
    ]
    with server.runtime.store.engine.begin() as conn:
        feedback_jobs.CREATE_KIND.write_many(conn, jobs)

    with server.runtime.store.sessions() as session:
        rows = {
            f.id: f
            for f in session.scalars(
                select(Feedback).where(Feedback.id.in_([j.row["id"] for j in jobs]))
            )
        }
    got = [
        (rows[j.row["id"]].session_id, rows[j.row["id"]].message_id, rows[j.row["id"]].message_pk)
        for j in jobs
    ]
    assert got == [
        ("s-0", replies[2], pks[replies[2]]),
        ("s-1", None, None),
        ("s-2", "aia_msg_never_logged", None),
        ("s-3", theirs, None),
        ("s-4", replies[0], pks[replies[0]]),
        ("s-5", replies[2], pks[replies[2]]),
    ]
