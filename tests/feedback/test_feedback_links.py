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
