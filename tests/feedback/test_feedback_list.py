"""The Twilio feedback list is read as driver-level SQL and written without a model; these
tests pin its answer to what the ORM page and ``feedback_out`` (the model it replaced) give
for the same rows, field by field and byte for byte: feedback with nulls, one linked to a
logged message, a thumb by an end user that was reviewed, dates with fractions of a
second, and every filter and paging direction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi.dependencies.utils import get_dependant, request_params_to_args
from sqlalchemy import update
from starlette.requests import Request

from tests.support.accounts import Account
from tests.support.http import assert_error, create_feedback, feedbacks_path, seed_feedbacks
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer
from thumbs.feedback import service
from thumbs.feedback.filters import FeedbackFilter
from thumbs.feedback.router import list_filter
from thumbs.feedback.schemas import FeedbackOut
from thumbs.kit.deps import QueryOf
from thumbs.kit.paging import Cursor, PageParams, page_params
from thumbs.store.models import Feedback


def orm_items(
    server: LiveServer, account: Account, assistant_id: str, where: dict[str, Any], params: Any
) -> list[dict[str, Any]]:
    """The page as the ORM reads it, each row through feedback_out: what the list answered
    before it was read as driver-level SQL."""
    with server.runtime.store.session() as session:
        ref = service.assistant_ref(session, account_pk=account.pk, assistant_id=assistant_id)
        flt = FeedbackFilter(account_pk=account.pk, assistant_pk=ref.pk, **where)
        page = service.list_page(session, where=flt, params=params)
        return [
            service.feedback_out(f, assistant_id=assistant_id, account_sid=account.sid)
            for f in page.items
        ]


@pytest.fixture
def varied(api: httpx.Client, server: LiveServer, account: Account, assistant_id: str) -> list[str]:
    """Feedback of every kind the list shows, oldest first."""
    bare = create_feedback(api, assistant_id, session_id="s-bare")  # score, text, ids null
    unlinked = create_feedback(
        api, assistant_id, session_id="s-1", message_id="aia_msg_not_logged", score=0.1, text=""
    )
    reply = log_turn(api, assistant_id, session_id="s-2")
    linked = thumbs(api, reply, "negative", reason="wrong").json()  # an end user's, linked
    res = api.post(f"/v1/Review/{linked['id']}/Approve", json={"corrected_response": "Right."})
    assert res.status_code == 200, res.text
    scored = create_feedback(
        api, assistant_id, session_id="s-1", score=1, text='naïve 👍 "quoted"\n<b>'
    )
    zero = create_feedback(api, assistant_id, session_id="s-3", score=0, text="zero")
    with server.runtime.store.session() as session:  # dates with fractions of a second
        session.execute(
            update(Feedback)
            .where(Feedback.id == zero["id"])
            .values(
                date_created=datetime(2026, 2, 3, 4, 5, 6, 999999),
                date_updated=datetime(2026, 2, 3, 4, 5, 7, 500000),
            )
        )
    return [bare["id"], unlinked["id"], linked["id"], scored["id"], zero["id"]]


def test_a_page_is_byte_for_byte_what_the_model_gave(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str, varied: list[str]
) -> None:
    res = api.get(feedbacks_path(assistant_id))
    assert res.status_code == 200
    body = res.json()
    assert [f["id"] for f in body["feedbacks"]] == varied[::-1]
    expected = orm_items(server, account, assistant_id, {}, PageParams(50, 0, None))
    assert body["feedbacks"] == expected
    assert res.content == orjson.dumps({"feedbacks": expected, "meta": body["meta"]})
    for item in body["feedbacks"]:  # and each is a FeedbackOut, field for field
        assert FeedbackOut.model_validate(item).model_dump() == item
    by_id = {f["id"]: f for f in body["feedbacks"]}
    bare, unlinked, linked, scored, zero = (by_id[i] for i in varied)
    assert (bare["user_sid"], bare["message_id"], bare["score"], bare["text"]) == (
        None,
        None,
        None,
        None,
    )
    assert (unlinked["message_id"], unlinked["score"], unlinked["text"]) == (
        "aia_msg_not_logged",
        0.1,
        "",
    )
    assert linked["user_sid"] is not None
    assert linked["message_id"] is not None
    assert (scored["score"], zero["score"]) == (1.0, 0.0)
    assert (zero["date_created"], zero["date_updated"]) == (
        "2026-02-03T04:05:06Z",
        "2026-02-03T04:05:07Z",
    )


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ({"SessionId": "s-1"}, {"session_id": "s-1"}),
        ({"MessageId": "aia_msg_not_logged"}, {"message_id": "aia_msg_not_logged"}),
        (
            {"DateCreatedBefore": "2026-02-03T04:05:07Z"},
            {"created_before": datetime(2026, 2, 3, 4, 5, 7)},
        ),
        (
            {"DateCreatedAfter": "2026-02-03T04:05:06Z"},
            {"created_after": datetime(2026, 2, 3, 4, 5, 6)},
        ),
        (
            {"DateCreatedAfter": "2026-02-03T04:05:07Z"},
            {"created_after": datetime(2026, 2, 3, 4, 5, 7)},
        ),
        ({"SessionId": "s-1", "PageSize": "1"}, {"session_id": "s-1"}),
        ({"SessionId": "nobody"}, {"session_id": "nobody"}),
    ],
)
def test_filters_select_what_the_model_selected(
    api: httpx.Client,
    server: LiveServer,
    account: Account,
    assistant_id: str,
    varied: list[str],
    query: dict[str, str],
    where: dict[str, Any],
) -> None:
    res = api.get(feedbacks_path(assistant_id), params=query)
    assert res.status_code == 200, res.text
    size = int(query.get("PageSize", 50))
    expected = orm_items(server, account, assistant_id, where, PageParams(size, 0, None))
    assert res.json()["feedbacks"] == expected


def orm_pages(
    server: LiveServer, account: Account, assistant_id: str, size: int
) -> list[list[dict[str, Any]]]:
    """Every page of the list, following the ORM page's own cursor."""
    pages = []
    cursor: Cursor | None = None
    with server.runtime.store.session() as session:
        ref = service.assistant_ref(session, account_pk=account.pk, assistant_id=assistant_id)
        flt = FeedbackFilter(account_pk=account.pk, assistant_pk=ref.pk)
        while True:
            page = service.list_page(session, where=flt, params=PageParams(size, 0, cursor))
            pages.append(
                [
                    service.feedback_out(f, assistant_id=assistant_id, account_sid=account.sid)
                    for f in page.items
                ]
            )
            if not page.has_next or page.last_key is None:
                return pages
            cursor = Cursor(page.last_key, forward=True)


def test_paging_both_ways_reads_what_the_model_read(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seed_feedbacks(server, account, assistant_id, 23)
    forward: list[list[dict[str, Any]]] = []
    url: str | None = feedbacks_path(assistant_id) + "?PageSize=5"
    while url is not None:
        body = api.get(url).json()
        forward.append(body["feedbacks"])
        url = body["meta"]["next_page_url"]
    assert forward == orm_pages(server, account, assistant_id, 5)
    assert [len(p) for p in forward] == [5, 5, 5, 5, 3]
    backward = []  # back from the last page by previous_page_url
    url = body["meta"]["previous_page_url"]
    while url is not None:
        body = api.get(url).json()
        backward.append(body["feedbacks"])
        url = body["meta"]["previous_page_url"]
    assert backward == forward[-2::-1]


QUERIES = [
    "",
    "PageSize=5&Page=2",
    "PageSize=0",
    "PageSize=abc&Page=-1",
    "PageSize=5&PageSize=7",
    "PageSize=%205",
    "Page=2147483648",
    "PageToken=",
    "SessionId=" + "x" * 257,
    "SessionId=a&SessionId=b&MessageId=aia_msg_1",
    "DateCreatedAfter=2026-01-31&DateCreatedBefore=2026-02-01T10:00:00%2B02:00",
    "DateCreatedAfter=0.5",
    "DateCreatedBefore=yesterday&PageSize=-3",
    "Unknown=1",
]


def comparable(read: tuple[dict[str, Any], list[Any]]) -> tuple[dict[str, Any], list[Any]]:
    """Values and errors, with the exceptions in errors as their text (an exception is
    equal only to itself)."""
    values, errors = read
    return values, [{**e, "ctx": {k: str(v) for k, v in e.get("ctx", {}).items()}} for e in errors]


@pytest.mark.parametrize("query", QUERIES)
def test_the_plain_route_reads_the_query_as_fastapi_does(query: str) -> None:
    request = Request({"type": "http", "query_string": query.encode(), "headers": []})
    for dependency in (page_params, list_filter):
        fields = get_dependant(path="", call=dependency).query_params
        ours = comparable(QueryOf(dependency)(request))
        assert ours == comparable(request_params_to_args(fields, request.query_params))


def test_the_order_of_refusals_is_fastapis(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    """Credentials, then the role, then the assistant, then the paging parameters, the
    token, and the filters: the first problem is the one answered."""
    bad_query = {"PageSize": "0", "SessionId": "x" * 300}
    with server.client() as anonymous:
        assert_error(anonymous.get(feedbacks_path("aia_asst_nope"), params=bad_query), 401, 20003)
    as_end_user = {"X-Thumbs-Identity": "user_id:9"}
    res = api.get(feedbacks_path("aia_asst_nope"), params=bad_query, headers=as_end_user)
    assert_error(res, 403, 60403)
    assert_error(api.get(feedbacks_path("aia_asst_nope"), params=bad_query), 404, 20404)
    res = api.get(feedbacks_path(assistant_id), params=bad_query)
    assert res.status_code == 400
    assert res.json()["details"]["field"] == "PageSize"
    res = api.get(feedbacks_path(assistant_id), params={"PageToken": "PTnope", **bad_query})
    assert res.json()["details"]["field"] == "PageSize"
    res = api.get(
        feedbacks_path(assistant_id), params={"PageToken": "PTnope", "SessionId": "x" * 300}
    )
    assert_error(res, 400, 60009)
    res = api.get(feedbacks_path(assistant_id), params={"SessionId": "x" * 300})
    assert res.json()["details"]["field"] == "SessionId"
    assert api.head(feedbacks_path(assistant_id)).status_code == 405
