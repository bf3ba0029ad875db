"""The Feedbacks resource beyond Twilio, in Twilio's style: fetch one, update score/text with
PUT, delete; lists newest first; and deleting an assistant that has feedback (409 unless
``Cascade=true``)."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from sqlalchemy import select, update

from tests.support.accounts import Account
from tests.support.http import assert_error, create_assistant, create_feedback, feedbacks_path
from tests.support.server import LiveServer
from thumbs.store.models import Assistant, Feedback


def feedback_path(assistant_id: str, feedback_id: str) -> str:
    return f"{feedbacks_path(assistant_id)}/{feedback_id}"


def stored(server: LiveServer, feedback_id: str) -> Feedback | None:
    with server.runtime.store.session() as session:
        row = session.scalars(select(Feedback).where(Feedback.id == feedback_id)).one_or_none()
        if row is not None:
            session.expunge(row)
        return row


def backdate(server: LiveServer, feedback_id: str) -> None:
    """Move a feedback's dates into the past, so that a change of date_updated shows."""
    past = datetime(2026, 1, 1, 8, 0, 0)
    with server.runtime.store.session() as session:
        session.execute(
            update(Feedback)
            .where(Feedback.id == feedback_id)
            .values(date_created=past, date_updated=past)
        )


# -- fetch -------------------------------------------------------------------------------------


def test_fetch_returns_what_create_returned(api: httpx.Client, assistant_id: str) -> None:
    created = create_feedback(
        api, assistant_id, session_id="s1", message_id="aia_msg_7", score=0.3, text="meh"
    )
    res = api.get(feedback_path(assistant_id, created["id"]))
    assert res.status_code == 200
    assert res.json() == created


# what COPY's text format must escape (PostgreSQL writes a batch of creates by COPY), and
# what it would read as NULL unescaped
AWKWARD_TEXT = 'tab\there\nnew line\r\nCRLF \\ backslash \\N not null \\. é 🎉 "quoted"'


def test_a_text_that_copy_must_escape_is_stored_as_sent(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    created = create_feedback(api, assistant_id, session_id="s\\1", score=0.1, text=AWKWARD_TEXT)
    assert created["text"] == AWKWARD_TEXT
    assert api.get(feedback_path(assistant_id, created["id"])).json() == created
    row = stored(server, created["id"])
    assert row is not None
    assert (row.text, row.session_id, row.score) == (AWKWARD_TEXT, "s\\1", 0.1)


@pytest.mark.parametrize(
    "feedback_id", ["aia_fdbk_unknown", "aia_fdbk_" + "x" * 300, "not-an-id", "%20"]
)
def test_fetching_an_unknown_feedback_is_404(
    api: httpx.Client, assistant_id: str, feedback_id: str
) -> None:
    create_feedback(api, assistant_id)
    assert_error(api.get(feedback_path(assistant_id, feedback_id)), 404, 20404)


# -- update ------------------------------------------------------------------------------------


def test_put_updates_score_and_text_and_moves_date_updated_only(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    created = create_feedback(api, assistant_id, session_id="s", score=0.2, text="bad")
    backdate(server, created["id"])
    res = api.put(feedback_path(assistant_id, created["id"]), json={"score": 0.9, "text": "good"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["score"], body["text"], body["session_id"], body["id"]) == (
        0.9,
        "good",
        "s",
        created["id"],
    )
    assert body["date_created"] == "2026-01-01T08:00:00Z"
    assert body["date_updated"] > "2026-01-01T08:00:00Z"
    assert body["date_updated"] >= created["date_created"]
    row = stored(server, created["id"])
    assert row is not None
    assert (row.score, row.text, row.date_created) == (0.9, "good", datetime(2026, 1, 1, 8))
    assert api.get(feedback_path(assistant_id, created["id"])).json() == body


def test_put_changes_only_the_fields_given(api: httpx.Client, assistant_id: str) -> None:
    fid = create_feedback(api, assistant_id, score=0.2, text="first")["id"]
    path = feedback_path(assistant_id, fid)
    assert api.put(path, json={"text": "second"}).json()["score"] == 0.2
    after_score = api.put(path, json={"score": 1}).json()
    assert (after_score["score"], after_score["text"]) == (1.0, "second")


def test_put_with_null_keeps_a_value(api: httpx.Client, assistant_id: str) -> None:
    """null is the field left out (what Twilio's libraries send for a value not set)."""
    fid = create_feedback(api, assistant_id, score=0.2, text="first")["id"]
    body = api.put(feedback_path(assistant_id, fid), json={"score": None, "text": "second"}).json()
    assert (body["score"], body["text"]) == (0.2, "second")
    body = api.put(feedback_path(assistant_id, fid), json={"score": 0.9, "text": None}).json()
    assert (body["score"], body["text"]) == (0.9, "second")


def test_put_on_an_unknown_feedback_is_404(api: httpx.Client, assistant_id: str) -> None:
    res = api.put(feedback_path(assistant_id, "aia_fdbk_nope"), json={"score": 1})
    assert_error(res, 404, 20404)


# -- delete ------------------------------------------------------------------------------------


def test_delete_is_204_then_404(api: httpx.Client, server: LiveServer, assistant_id: str) -> None:
    keep = create_feedback(api, assistant_id, text="keep")["id"]
    gone = create_feedback(api, assistant_id, text="gone")["id"]
    res = api.delete(feedback_path(assistant_id, gone))
    assert res.status_code == 204
    assert res.content == b""
    assert stored(server, gone) is None
    assert_error(api.get(feedback_path(assistant_id, gone)), 404, 20404)
    assert_error(api.delete(feedback_path(assistant_id, gone)), 404, 20404)
    assert_error(api.put(feedback_path(assistant_id, gone), json={"score": 1}), 404, 20404)
    listed = api.get(feedbacks_path(assistant_id)).json()["feedbacks"]
    assert [f["id"] for f in listed] == [keep]


# -- list order --------------------------------------------------------------------------------


def test_the_list_is_newest_first(api: httpx.Client, assistant_id: str) -> None:
    created = [create_feedback(api, assistant_id, text=f"#{n}")["id"] for n in range(6)]
    listed = api.get(feedbacks_path(assistant_id)).json()["feedbacks"]
    assert [f["id"] for f in listed] == created[::-1]
    assert [f["date_created"] for f in listed] == sorted(
        (f["date_created"] for f in listed), reverse=True
    )


def test_an_update_does_not_move_a_feedback_in_the_list(
    api: httpx.Client, assistant_id: str
) -> None:
    created = [create_feedback(api, assistant_id, text=f"#{n}")["id"] for n in range(3)]
    api.put(feedback_path(assistant_id, created[0]), json={"text": "edited"})
    listed = api.get(feedbacks_path(assistant_id)).json()["feedbacks"]
    assert [f["id"] for f in listed] == created[::-1]


def test_each_assistant_lists_only_its_own_feedback(api: httpx.Client, assistant_id: str) -> None:
    other = create_assistant(api, "Other bot")
    mine = create_feedback(api, assistant_id)["id"]
    theirs = create_feedback(api, other)["id"]
    assert [f["id"] for f in api.get(feedbacks_path(assistant_id)).json()["feedbacks"]] == [mine]
    assert [f["id"] for f in api.get(feedbacks_path(other)).json()["feedbacks"]] == [theirs]


# -- deleting an assistant ---------------------------------------------------------------------


def assistant_exists(server: LiveServer, assistant_id: str) -> bool:
    with server.runtime.store.session() as session:
        found = session.scalars(select(Assistant.pk).where(Assistant.id == assistant_id)).first()
        return found is not None


def test_an_assistant_without_feedback_is_deleted(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    res = api.delete(f"/v1/Assistants/{assistant_id}")
    assert res.status_code == 204
    assert not assistant_exists(server, assistant_id)
    assert_error(api.get(f"/v1/Assistants/{assistant_id}"), 404, 20404)
    assert_error(api.get(feedbacks_path(assistant_id)), 404, 20404)


@pytest.mark.parametrize("query", ["", "?Cascade=false"])
def test_an_assistant_with_feedback_is_kept_with_409(
    api: httpx.Client, server: LiveServer, assistant_id: str, query: str
) -> None:
    fids = [create_feedback(api, assistant_id)["id"] for _ in range(2)]
    res = api.delete(f"/v1/Assistants/{assistant_id}{query}")
    body = assert_error(res, 409, 60409)
    assert body["details"]["feedback_count"] == 2
    assert "Cascade=true" in body["message"]
    assert assistant_exists(server, assistant_id)
    assert all(stored(server, f) is not None for f in fids)


def test_cascade_deletes_the_assistant_with_its_feedback(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    other = create_assistant(api, "Survivor")
    survivor = create_feedback(api, other)["id"]
    fids = [create_feedback(api, assistant_id)["id"] for _ in range(3)]
    res = api.delete(f"/v1/Assistants/{assistant_id}", params={"Cascade": "true"})
    assert res.status_code == 204
    assert not assistant_exists(server, assistant_id)
    assert all(stored(server, f) is None for f in fids)
    assert stored(server, survivor) is not None
    # the create path's assistant cache forgets it too
    res = api.post(feedbacks_path(assistant_id), json={"session_id": "late"})
    assert_error(res, 404, 20404)


def test_an_invalid_cascade_value_is_400(api: httpx.Client, assistant_id: str) -> None:
    assert_error(
        api.delete(f"/v1/Assistants/{assistant_id}?Cascade=maybe"), 400, 60008, field="Cascade"
    )
