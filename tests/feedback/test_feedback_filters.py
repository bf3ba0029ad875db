"""The one feedback filter: a session's (or a message's) feedback across a whole account is
reached through the assistants' own indexes, one seek per assistant, and holds exactly that
account's feedback of that session, newest first."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy import select, text

from tests.support.accounts import Account
from tests.support.server import LiveServer
from thumbs.feedback import service
from thumbs.feedback.filters import FeedbackFilter, select_feedback
from thumbs.feedback.jobs import INSERT_FEEDBACK
from thumbs.kit import ids
from thumbs.kit.paging import PageParams
from thumbs.store.models import Assistant, Feedback


def _assistant(client: httpx.Client, name: str) -> str:
    res = client.post("/v1/Assistants", json={"name": name})
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _feedback(client: httpx.Client, assistant: str, session_id: str, message_id: str) -> str:
    res = client.post(
        f"/v1/Assistants/{assistant}/Feedbacks",
        json={"session_id": session_id, "message_id": message_id, "score": 1.0},
    )
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def test_a_session_across_the_account_holds_its_feedback_of_every_assistant_newest_first(
    server: LiveServer, account: Account, other_account: Account, api: httpx.Client
) -> None:
    first, second = _assistant(api, "one"), _assistant(api, "two")
    mine = [
        _feedback(api, first, "conv-1", "aia_msg_m1"),
        _feedback(api, second, "conv-1", "aia_msg_m2"),
        _feedback(api, first, "conv-1", "aia_msg_m3"),
    ]
    _feedback(api, first, "conv-2", "aia_msg_m4")
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        _feedback(other, _assistant(other, "theirs"), "conv-1", "aia_msg_m1")

    with server.runtime.store.session() as session:
        page = service.list_page(
            session,
            where=FeedbackFilter(account_pk=account.pk, session_id="conv-1"),
            params=PageParams(page_size=50, page=0, cursor=None),
        )
        by_message = service.list_page(
            session,
            where=FeedbackFilter(account_pk=account.pk, message_id="aia_msg_m2"),
            params=PageParams(page_size=50, page=0, cursor=None),
        )
    assert [f.id for f in page.items] == mine[::-1]
    assert [f.id for f in by_message.items] == [mine[1]]


def test_the_account_wide_session_filter_reads_an_index_not_the_account(
    server: LiveServer, account: Account, api: httpx.Client
) -> None:
    """With 3,000 rows in 300 sessions (and the planners' statistics), a session's feedback
    is sought in the assistants' session index; the account's rows are not walked."""
    assistants = [_assistant(api, "one"), _assistant(api, "two")]
    with server.runtime.store.session() as session:
        keys = dict(
            session.execute(
                select(Assistant.id, Assistant.pk).where(Assistant.id.in_(assistants))
            ).all()
        )
    now = datetime(2026, 11, 30, 12, 0, 0)
    rows = [
        {
            "id": ids.new_id(ids.FEEDBACK),
            "account_pk": account.pk,
            "assistant_pk": keys[assistants[i % 2]],
            "session_id": f"conv-{i % 300}",
            "message_id": None,
            "message_pk": None,
            "user_pk": None,
            "user_sid": None,
            "score": 1.0,
            "text": None,
            "channel": "api",
            "feedback_type": "positive",
            "status": "pending",
            "date_created": now,
            "date_updated": now,
        }
        for i in range(3000)
    ]
    # the explorer's page: keyset_page's order and limit
    stmt = (
        select_feedback(FeedbackFilter(account_pk=account.pk, session_id="conv-7"))
        .order_by(Feedback.pk.desc())
        .limit(51)
    )
    with server.runtime.store.engine.connect() as conn:
        with conn.begin():
            INSERT_FEEDBACK.run(conn, rows)
        conn.execute(text("ANALYZE"))
        conn.commit()
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
        plan = "\n".join(str(r[-1]) for r in conn.execute(text(f"{explain} {compiled}")))
        found = conn.execute(stmt).all()
    assert len(found) == 10
    assert "ix_feedbacks_assistant_pk_session_id_pk" in plan
    assert "SCAN feedbacks" not in plan  # SQLite: no walk of the table
    assert "Seq Scan on feedbacks" not in plan  # PostgreSQL: nor there
