"""The official ``twilio`` helper library (9.10.9), unchanged, pointed at a live thumbs server:
the Feedback and Assistant resources, paging by ``next_page_url``, API keys, and every
error class surfacing as ``TwilioRestException`` with Twilio's status and code."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.rest.assistants.v1.assistant import AssistantList
from twilio.rest.assistants.v1.assistant.feedback import FeedbackList

from tests.support.accounts import Account, make_api_key
from tests.support.http import run, seed_feedbacks, twilio_client
from tests.support.server import LiveServer
from thumbs.store.models import Feedback

Create = FeedbackList.AssistantsV1ServiceCreateFeedbackRequest
CreateAssistant = AssistantList.AssistantsV1ServiceCreateAssistantRequest
UpdateAssistant = AssistantList.AssistantsV1ServiceUpdateAssistantRequest
CustomerAi = AssistantList.AssistantsV1ServiceCustomerAi


@pytest.fixture
def client(server: LiveServer, account: Account) -> Client:
    return twilio_client(server, account.sid, account.token)[0]


def recent(value: Any) -> None:
    assert isinstance(value, datetime)
    assert value.tzinfo is not None
    assert abs(datetime.now(UTC) - value) < timedelta(minutes=1)


def stored(server: LiveServer, feedback_id: str) -> Feedback:
    with server.runtime.store.session() as session:
        row = session.scalars(select(Feedback).where(Feedback.id == feedback_id)).one()
        session.expunge(row)
        return row


def test_session_level_feedback_returns_every_field(
    client: Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    fb = client.assistants.v1.assistants(assistant_id).feedbacks.create(
        Create({"session_id": "demo-session", "score": 1, "text": "problem resolved"})
    )
    assert re.fullmatch(r"aia_fdbk_.+", fb.id)
    assert fb.account_sid == account.sid
    assert fb.assistant_id == assistant_id
    assert fb.session_id == "demo-session"
    assert fb.message_id is None
    assert fb.score == 1.0
    assert fb.text == "problem resolved"
    assert fb.user_sid is None
    recent(fb.date_created)
    assert fb.date_updated == fb.date_created
    row = stored(server, fb.id)
    assert (row.session_id, row.message_id, row.score, row.text, row.account_pk) == (
        "demo-session",
        None,
        1.0,
        "problem resolved",
        account.pk,
    )


def test_message_level_feedback_returns_every_field(
    client: Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    fb = client.assistants.v1.assistants(assistant_id).feedbacks.create(
        Create(
            {
                "session_id": "demo-session",
                "message_id": "aia_msg_123",
                "score": 0.25,
                "text": "half right",
            }
        )
    )
    assert fb.id.startswith("aia_fdbk_")
    assert (fb.account_sid, fb.assistant_id, fb.session_id) == (
        account.sid,
        assistant_id,
        "demo-session",
    )
    assert (fb.message_id, fb.score, fb.text, fb.user_sid) == (
        "aia_msg_123",
        0.25,
        "half right",
        None,
    )
    recent(fb.date_created)
    recent(fb.date_updated)
    assert stored(server, fb.id).message_id == "aia_msg_123"


def test_a_text_only_feedback_has_a_null_score(client: Client, assistant_id: str) -> None:
    fb = client.assistants.v1.assistants(assistant_id).feedbacks.create(
        Create({"session_id": "s", "text": "no score given"})
    )
    assert (fb.score, fb.text, fb.message_id) == (None, "no score given", None)


def test_the_async_client_sends_form_data_and_is_understood(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    async def create() -> Any:
        http = AsyncTwilioHttpClient()
        client = Client(account.sid, account.token, http_client=http)
        client.assistants.base_url = server.url
        try:
            feedbacks = client.assistants.v1.assistants(assistant_id).feedbacks
            return await feedbacks.create_async(
                Create({"session_id": "async", "message_id": "aia_msg_9", "score": 0.75})
            )
        finally:
            await http.close()

    fb = run(create())  # in a thread of its own: a browser test may hold this thread's loop
    assert (fb.session_id, fb.message_id, fb.score, fb.text) == ("async", "aia_msg_9", 0.75, None)
    assert stored(server, fb.id).score == 0.75


def test_list_with_limit_returns_the_newest_first(
    client: Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    ids = seed_feedbacks(server, account, assistant_id, 7)
    records = client.assistants.v1.assistants(assistant_id).feedbacks.list(limit=5)
    assert [r.id for r in records] == ids[::-1][:5]
    assert all(r.assistant_id == assistant_id for r in records)
    recent(records[0].date_created)


def test_paging_through_more_than_two_pages_skips_and_repeats_nothing(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    ids = seed_feedbacks(server, account, assistant_id, 23)
    client, http = twilio_client(server, account.sid, account.token)
    records = client.assistants.v1.assistants(assistant_id).feedbacks.list(page_size=5)
    assert [r.id for r in records] == ids[::-1]
    gets = [s for s in http.sent if s.method == "GET"]
    assert len(gets) == 5  # 5 + 5 + 5 + 5 + 3, each page fetched from meta.next_page_url
    assert gets[0].params == {"PageSize": 5}
    assert all(s.url.startswith(server.url + "/v1/Assistants/") for s in gets)
    assert all("PageToken=PT" in s.url for s in gets[1:])


def test_page_size_1000_reads_a_thousand_rows_per_request(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    ids = seed_feedbacks(server, account, assistant_id, 1003)
    client, http = twilio_client(server, account.sid, account.token)
    records = client.assistants.v1.assistants(assistant_id).feedbacks.list(page_size=1000)
    assert [r.id for r in records] == ids[::-1]
    assert len([s for s in http.sent if s.method == "GET"]) == 2


def test_a_limit_above_1000_is_read_1000_at_a_time(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    ids = seed_feedbacks(server, account, assistant_id, 1002)
    client, http = twilio_client(server, account.sid, account.token)
    records = client.assistants.v1.assistants(assistant_id).feedbacks.list(limit=5000)
    assert [r.id for r in records] == ids[::-1]
    first = http.sent[0]
    assert first.params == {"PageSize": 5000}  # the library asks for the whole limit at once
    assert len(http.sent) == 2


def test_assistants_create_fetch_list_update_delete(client: Client, account: Account) -> None:
    assistants = client.assistants.v1.assistants
    created = assistants.create(
        CreateAssistant(
            {
                "name": "Support bot",
                "owner": "Acme",
                "personality_prompt": "Be brief.",
                "customer_ai": CustomerAi(
                    {"perception_engine_enabled": True, "personalization_engine_enabled": False}
                ),
            }
        )
    )
    assert re.fullmatch(r"aia_asst_.+", created.id)
    assert (created.account_sid, created.name, created.owner) == (
        account.sid,
        "Support bot",
        "Acme",
    )
    assert created.personality_prompt == "Be brief."
    assert created.customer_ai == {
        "perception_engine_enabled": True,
        "personalization_engine_enabled": False,
    }
    assert created.url.endswith(f"/v1/Assistants/{created.id}")
    recent(created.date_created)

    fetched = assistants(created.id).fetch()
    assert (fetched.id, fetched.name, fetched.tools, fetched.knowledge) == (
        created.id,
        "Support bot",
        [],
        [],
    )
    other = assistants.create(CreateAssistant({"name": "Sales bot"}))
    assert [a.id for a in assistants.list()] == [other.id, created.id]

    # the library sends every field of the update request, null where not given
    updated = assistants(created.id).update(UpdateAssistant({"owner": "Acme Corp"}))
    assert (updated.name, updated.owner, updated.personality_prompt) == (
        "Support bot",
        "Acme Corp",
        "Be brief.",
    )
    renamed = assistants(created.id).update(UpdateAssistant({"name": "Help bot"}))
    assert (renamed.name, renamed.owner) == ("Help bot", "Acme Corp")
    assert renamed.date_updated >= renamed.date_created

    assert assistants(created.id).delete() is True
    with pytest.raises(TwilioRestException) as err:
        assistants(created.id).fetch()
    assert (err.value.status, err.value.code) == (404, 20404)


def test_an_api_key_authenticates_for_its_account(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    key = make_api_key(server, account)
    client, _ = twilio_client(server, key.sid, key.secret, account.sid)
    fb = client.assistants.v1.assistants(assistant_id).feedbacks.create(
        Create({"session_id": "with-key", "score": 0})
    )
    assert (fb.account_sid, fb.score) == (account.sid, 0.0)
    listed = client.assistants.v1.assistants(assistant_id).feedbacks.list()
    assert [r.id for r in listed] == [fb.id]


def raised(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as err:
        call()
    return err.value


def list_refused(call: Any) -> tuple[int, int]:
    """The library raises a plain TwilioException("Unable to fetch page", response) when a
    list page is refused; the response carries our status and error body."""
    with pytest.raises(TwilioException) as err:
        call()
    assert not isinstance(err.value, TwilioRestException)
    response = err.value.args[1]
    return int(response.status_code), int(json.loads(response.text)["code"])


def test_wrong_credentials_are_401_20003(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    client, _ = twilio_client(server, account.sid, "0" * 32)
    feedbacks = client.assistants.v1.assistants(assistant_id).feedbacks
    for call in (
        lambda: feedbacks.create(Create({"session_id": "s"})),
        lambda: client.assistants.v1.assistants(assistant_id).fetch(),
        lambda: client.assistants.v1.assistants.create(CreateAssistant({"name": "x"})),
    ):
        exc = raised(call)
        assert (exc.status, exc.code) == (401, 20003)
    assert list_refused(lambda: feedbacks.list()) == (401, 20003)
    assert list_refused(lambda: client.assistants.v1.assistants.list()) == (401, 20003)


def test_an_unknown_assistant_is_404_20404(client: Client) -> None:
    feedbacks = client.assistants.v1.assistants("aia_asst_nope").feedbacks
    for call in (
        lambda: feedbacks.create(Create({"session_id": "s"})),
        lambda: client.assistants.v1.assistants("aia_asst_nope").fetch(),
        lambda: client.assistants.v1.assistants("aia_asst_nope").delete(),
    ):
        exc = raised(call)
        assert (exc.status, exc.code) == (404, 20404)
    assert list_refused(lambda: feedbacks.list()) == (404, 20404)


def test_another_accounts_assistant_is_404(
    server: LiveServer, other_account: Account, assistant_id: str
) -> None:
    client, _ = twilio_client(server, other_account.sid, other_account.token)
    assistant = client.assistants.v1.assistants(assistant_id)
    assert list_refused(lambda: assistant.feedbacks.list()) == (404, 20404)
    for call in (
        lambda: assistant.feedbacks.create(Create({"session_id": "s"})),
        lambda: assistant.fetch(),
        lambda: assistant.update(UpdateAssistant({"name": "mine now"})),
        lambda: assistant.delete(),
    ):
        exc = raised(call)
        assert (exc.status, exc.code) == (404, 20404)


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"score": 1}, 60002, "session_id"),  # the library leaves unset fields out
        ({"session_id": "s", "score": 1.01}, 60004, "score"),
        ({"session_id": "s", "score": -0.01}, 60004, "score"),
        ({"session_id": "s", "message_id": "msg_1"}, 60006, "message_id"),
        ({"session_id": "s", "text": "x" * 4001}, 60005, "text"),
        ({"session_id": "x" * 257}, 60005, "session_id"),
    ],
)
def test_invalid_feedback_is_400_with_its_code(
    client: Client,
    server: LiveServer,
    assistant_id: str,
    payload: dict[str, Any],
    code: int,
    field: str,
) -> None:
    feedbacks = client.assistants.v1.assistants(assistant_id).feedbacks
    exc = raised(lambda: feedbacks.create(Create(payload)))
    assert (exc.status, exc.code) == (400, code)
    assert isinstance(exc.details, dict)
    assert exc.details["field"] == field
    assert exc.msg
    with server.runtime.store.session() as session:
        assert session.scalars(select(Feedback)).all() == []
