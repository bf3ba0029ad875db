"""Twilio's list envelope and paging on the Feedbacks list: the exact ``meta`` object with
absolute URLs built from the request, ``PageSize``/``Page``/``PageToken`` semantics, a keyset
cursor that neither skips nor repeats while rows are inserted, the filters, and 400s (never
500s) for every malformed paging or filter parameter."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from tests.support.accounts import Account
from tests.support.http import (
    assert_error,
    create_feedback,
    feedbacks_path,
    page_token,
    seed_feedbacks,
)
from tests.support.server import LiveServer
from thumbs.kit.paging import scope_for
from thumbs.store.models import Feedback

META_KEYS = {
    "first_page_url",
    "key",
    "next_page_url",
    "page",
    "page_size",
    "previous_page_url",
    "url",
}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def ids(body: dict[str, Any]) -> list[str]:
    return [f["id"] for f in body["feedbacks"]]


def walk(api: httpx.Client, url: str, link: str = "next_page_url") -> list[dict[str, Any]]:
    """Follow ``meta[link]`` from ``url`` to the end; returns every page body."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        res = api.get(next_url)
        assert res.status_code == 200, res.text
        pages.append(res.json())
        next_url = pages[-1]["meta"][link]
        assert len(pages) < 100
    return pages


def set_created(server: LiveServer, feedback_id: str, when: datetime) -> None:
    with server.runtime.store.session() as session:
        session.execute(
            update(Feedback).where(Feedback.id == feedback_id).values(date_created=when)
        )


# -- the meta object ---------------------------------------------------------------------------


def test_meta_holds_exactly_twilios_fields_with_absolute_urls(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seeded = seed_feedbacks(server, account, assistant_id, 3)
    path = feedbacks_path(assistant_id)
    first = api.get(path, params={"PageSize": 2})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"feedbacks", "meta"}
    meta = body["meta"]
    assert set(meta) == META_KEYS
    assert meta["key"] == "feedbacks"
    assert (meta["page"], meta["page_size"], meta["previous_page_url"]) == (0, 2, None)
    assert meta["url"] == f"{server.url}{path}?PageSize=2"
    assert meta["first_page_url"] == f"{server.url}{path}?PageSize=2&Page=0"
    assert meta["next_page_url"].startswith(f"{server.url}{path}?PageSize=2&Page=1&PageToken=PT")
    assert ids(body) == seeded[::-1][:2]

    second = api.get(meta["next_page_url"]).json()
    assert ids(second) == seeded[::-1][2:]
    assert second["meta"]["page"] == 1
    assert second["meta"]["next_page_url"] is None
    assert second["meta"]["url"] == meta["next_page_url"]
    assert second["meta"]["first_page_url"] == meta["first_page_url"]
    assert query_of(second["meta"]["previous_page_url"])["Page"] == ["0"]


def test_the_assistants_list_has_the_same_envelope(api: httpx.Client, server: LiveServer) -> None:
    for n in range(3):
        api.post("/v1/Assistants", json={"name": f"bot {n}"})
    body = api.get("/v1/Assistants", params={"PageSize": 2}).json()
    assert set(body["meta"]) == META_KEYS
    assert body["meta"]["key"] == "assistants"
    assert [a["name"] for a in body["assistants"]] == ["bot 2", "bot 1"]
    rest = api.get(body["meta"]["next_page_url"]).json()
    assert [a["name"] for a in rest["assistants"]] == ["bot 0"]


def test_urls_are_built_from_the_host_the_client_used(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seed_feedbacks(server, account, assistant_id, 2)
    path = feedbacks_path(assistant_id)
    meta = api.get(path, params={"PageSize": 1}, headers={"Host": "thumbs.example:8443"}).json()[
        "meta"
    ]
    for key in ("url", "first_page_url", "next_page_url"):
        assert meta[key].startswith(f"http://thumbs.example:8443{path}?"), meta[key]


def test_a_trusted_proxys_scheme_is_honoured(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seed_feedbacks(server, account, assistant_id, 2)
    headers = {"Host": "feedback.example", "X-Forwarded-Proto": "https"}
    meta = api.get(feedbacks_path(assistant_id), params={"PageSize": 1}, headers=headers).json()[
        "meta"
    ]
    assert meta["next_page_url"].startswith("https://feedback.example/v1/Assistants/")


def test_filters_are_kept_in_every_meta_url(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seed_feedbacks(server, account, assistant_id, 3, session_id="kept")
    params = {"SessionId": "kept", "DateCreatedAfter": "2000-01-01T00:00:00Z", "PageSize": 1}
    meta = api.get(feedbacks_path(assistant_id), params=params).json()["meta"]
    for key in ("url", "first_page_url", "next_page_url"):
        q = query_of(meta[key])
        assert q["SessionId"] == ["kept"]
        assert q["DateCreatedAfter"] == ["2000-01-01T00:00:00Z"]
    second = api.get(meta["next_page_url"]).json()["meta"]
    assert query_of(second["previous_page_url"])["SessionId"] == ["kept"]


# -- PageSize ----------------------------------------------------------------------------------


def test_page_size_defaults_to_50(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seeded = seed_feedbacks(server, account, assistant_id, 51)
    body = api.get(feedbacks_path(assistant_id)).json()
    assert body["meta"]["page_size"] == 50
    assert ids(body) == seeded[::-1][:50]
    assert query_of(body["meta"]["next_page_url"])["PageSize"] == ["50"]


@pytest.mark.parametrize(
    ("asked", "served"), [("1", 1), ("1000", 1000), ("1001", 1000), (str(2**70), 1000)]
)
def test_page_size_above_1000_is_served_as_1000(
    api: httpx.Client,
    server: LiveServer,
    account: Account,
    assistant_id: str,
    asked: str,
    served: int,
) -> None:
    seed_feedbacks(server, account, assistant_id, 1001)
    body = api.get(feedbacks_path(assistant_id), params={"PageSize": asked}).json()
    assert body["meta"]["page_size"] == served
    assert len(body["feedbacks"]) == served
    assert query_of(body["meta"]["next_page_url"])["PageSize"] == [str(served)]


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5", "", "1e3"])
def test_an_invalid_page_size_is_400(api: httpx.Client, assistant_id: str, size: str) -> None:
    res = api.get(feedbacks_path(assistant_id), params={"PageSize": size})
    assert_error(res, 400, 60008, field="PageSize")


# -- Page and PageToken ------------------------------------------------------------------------


def test_page_is_client_state_echoed_in_meta(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seeded = seed_feedbacks(server, account, assistant_id, 3)
    body = api.get(feedbacks_path(assistant_id), params={"Page": 7, "PageSize": 2}).json()
    assert ids(body) == seeded[::-1][:2]  # without a token, Page alone reads from the top
    assert body["meta"]["page"] == 7
    assert query_of(body["meta"]["next_page_url"])["Page"] == ["8"]


@pytest.mark.parametrize("page", ["0", "2147483647"])
def test_page_accepts_0_to_2_pow_31_minus_1(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str, page: str
) -> None:
    seed_feedbacks(server, account, assistant_id, 2)
    res = api.get(feedbacks_path(assistant_id), params={"Page": page, "PageSize": 1})
    assert res.status_code == 200, res.text
    assert res.json()["meta"]["page"] == int(page)


@pytest.mark.parametrize("page", ["-1", "2147483648", str(2**63), str(2**70), "x", "1.5"])
def test_an_invalid_page_is_400(api: httpx.Client, assistant_id: str, page: str) -> None:
    res = api.get(feedbacks_path(assistant_id), params={"Page": page})
    assert_error(res, 400, 60008, field="Page")


def test_paging_forward_then_back_retraces_the_same_pages(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seeded = seed_feedbacks(server, account, assistant_id, 11)
    forward = walk(api, f"{feedbacks_path(assistant_id)}?PageSize=3")
    assert [ids(p) for p in forward] == [
        seeded[::-1][0:3],
        seeded[::-1][3:6],
        seeded[::-1][6:9],
        seeded[::-1][9:11],
    ]
    assert [p["meta"]["page"] for p in forward] == [0, 1, 2, 3]
    backward = walk(api, forward[-1]["meta"]["previous_page_url"], link="previous_page_url")
    assert [ids(p) for p in backward] == [ids(p) for p in forward[-2::-1]]
    assert [p["meta"]["page"] for p in backward] == [2, 1, 0]
    assert backward[-1]["meta"]["previous_page_url"] is None
    # and forward again from a page reached backwards
    again = api.get(backward[-1]["meta"]["next_page_url"]).json()
    assert ids(again) == ids(forward[1])


def test_rows_inserted_between_pages_are_neither_skipped_nor_repeated(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seeded = seed_feedbacks(server, account, assistant_id, 12)
    url: str | None = f"{feedbacks_path(assistant_id)}?PageSize=5"
    seen: list[str] = []
    while url is not None:
        body = api.get(url).json()
        seen += ids(body)
        create_feedback(api, assistant_id, text="arrived while paging")
        url = body["meta"]["next_page_url"]
    assert seen == seeded[::-1]


def test_paging_is_stable_under_concurrent_inserts(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    seeded = seed_feedbacks(server, account, assistant_id, 60)
    stop = threading.Event()
    inserted: list[str] = []
    progress = threading.Condition()

    def writer() -> None:
        with server.client(auth=(account.sid, account.token)) as other:
            while not stop.is_set():
                res = other.post(feedbacks_path(assistant_id), json={"session_id": "live"})
                assert res.status_code == 201
                with progress:
                    inserted.append(res.json()["id"])
                    progress.notify_all()

    def more_inserted_than(n: int) -> None:
        with progress:
            assert progress.wait_for(lambda: len(inserted) > n, timeout=10)

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[str] = []
    try:
        with server.client(auth=(account.sid, account.token)) as api:
            more_inserted_than(0)
            url: str | None = f"{feedbacks_path(assistant_id)}?PageSize=7"
            while url is not None:
                before = len(inserted)
                body = api.get(url).json()
                seen += ids(body)
                url = body["meta"]["next_page_url"]
                more_inserted_than(before)  # rows keep arriving between pages
    finally:
        stop.set()
        thread.join()
    assert len(seen) == len(set(seen)), "a row was repeated"
    # the rows the first page saw arrive first, then every older row, each once, in order
    assert seen[-len(seeded) :] == seeded[::-1]
    assert set(seen[: -len(seeded)]) <= set(inserted)


INVALID_TOKENS = [
    pytest.param("garbage", id="no PT prefix"),
    pytest.param("PT", id="empty"),
    pytest.param("PT!!!", id="not base64"),
    pytest.param("PT" + "A" * 300, id="too long"),
    pytest.param("PTbm90IGpzb24", id="not JSON"),
    pytest.param(page_token([1, "n"]), id="a JSON array"),
    pytest.param(page_token({"k": 5}), id="no direction"),
    pytest.param(page_token({"k": 5, "d": "x"}), id="unknown direction"),
    pytest.param(page_token({"d": "n"}), id="no key"),
    pytest.param(page_token({"k": "5", "d": "n"}), id="string key"),
    pytest.param(page_token({"k": 5.5, "d": "n"}), id="float key"),
    pytest.param(page_token({"k": True, "d": "n"}), id="bool key"),
    pytest.param(page_token({"k": -1, "d": "n"}), id="negative key"),
    pytest.param(page_token({"k": 2**63, "d": "n"}), id="key 2**63"),
    pytest.param(page_token({"k": 2**63, "d": "p"}), id="key 2**63 backwards"),
    pytest.param(page_token({"k": 2**64 - 1, "d": "n"}), id="key 2**64-1"),
    pytest.param("PT" + "eyJrIjogMTE4MDU5MTYyMDcxNzQxMTMwMzQyNCwgImQiOiAibiJ9", id="key 2**70"),
    pytest.param(page_token({"k": 1, "d": "n"}) + "%00", id="NUL"),
]


@pytest.mark.parametrize("token", INVALID_TOKENS)
def test_a_tampered_page_token_is_400(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str, token: str
) -> None:
    seed_feedbacks(server, account, assistant_id, 2)
    url = f"{feedbacks_path(assistant_id)}?PageToken={token}"
    code = 60016 if token.endswith("%00") else 60009
    assert_error(api.get(url), 400, code, field="PageToken")


@pytest.mark.parametrize("key", [0, 1, 2**63 - 1])
def test_a_well_formed_token_at_the_key_bounds_is_read(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str, key: int
) -> None:
    seeded = seed_feedbacks(server, account, assistant_id, 2)
    forward = api.get(
        feedbacks_path(assistant_id),
        params={"PageToken": page_token({"k": key, "d": "n", "l": scope_of(assistant_id)})},
    )
    assert forward.status_code == 200, forward.text
    assert ids(forward.json()) == (seeded[::-1] if key == 2**63 - 1 else [])


def scope_of(assistant_id: str) -> str:
    return scope_for(feedbacks_path(assistant_id), [])


def test_a_token_belongs_to_its_list(
    api: httpx.Client, server: LiveServer, account: Account, assistant_id: str
) -> None:
    seed_feedbacks(server, account, assistant_id, 3)
    path = feedbacks_path(assistant_id)
    token = (
        api.get(path, params={"PageSize": 1}).json()["meta"]["next_page_url"].split("PageToken=")[1]
    )
    # the same list with another page size: fine
    assert api.get(path, params={"PageSize": 2, "PageToken": token}).status_code == 200
    # another filter, or another assistant: refused, never a page of something else
    other = api.post("/v1/Assistants", json={"name": "Other"}).json()["id"]
    for url, params in [
        (path, {"SessionId": "elsewhere", "PageToken": token}),
        (feedbacks_path(other), {"PageToken": token}),
        ("/v1/Sessions", {"PageToken": token}),
    ]:
        assert_error(api.get(url, params=params), 400, 60009, field="PageToken")
    # a forged token without its list is refused too
    forged = page_token({"k": 2**40, "d": "n"})
    assert_error(api.get(path, params={"PageToken": forged}), 400, 60009, field="PageToken")


# -- filters -----------------------------------------------------------------------------------


def test_filter_by_session_and_message(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    a1 = create_feedback(api, assistant_id, session_id="a", message_id="aia_msg_1")["id"]
    a2 = create_feedback(api, assistant_id, session_id="a")["id"]
    b1 = create_feedback(api, assistant_id, session_id="b", message_id="aia_msg_1")["id"]
    path = feedbacks_path(assistant_id)
    assert ids(api.get(path, params={"SessionId": "a"}).json()) == [a2, a1]
    assert ids(api.get(path, params={"MessageId": "aia_msg_1"}).json()) == [b1, a1]
    both = {"SessionId": "a", "MessageId": "aia_msg_1"}
    assert ids(api.get(path, params=both).json()) == [a1]
    assert ids(api.get(path, params={"SessionId": "nobody"}).json()) == []


def test_date_filters_after_is_inclusive_before_is_exclusive(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    days = {}
    for day in (1, 2, 3):
        fid = create_feedback(api, assistant_id, text=f"day {day}")["id"]
        set_created(server, fid, datetime(2026, 1, day, 12, 0, 0))
        days[day] = fid
    path = feedbacks_path(assistant_id)

    def listed(**params: str) -> list[str]:
        res = api.get(path, params=params)
        assert res.status_code == 200, res.text
        return ids(res.json())

    assert listed(DateCreatedAfter="2026-01-02T12:00:00Z") == [days[3], days[2]]
    assert listed(DateCreatedBefore="2026-01-02T12:00:00Z") == [days[1]]
    assert listed(
        DateCreatedAfter="2026-01-01T12:00:01Z", DateCreatedBefore="2026-01-03T12:00:00Z"
    ) == [days[2]]
    # offsets are converted to UTC; a date alone is midnight UTC
    assert listed(DateCreatedAfter="2026-01-02T14:00:00+02:00") == [days[3], days[2]]
    assert listed(DateCreatedBefore="2026-01-02") == [days[1]]


@pytest.mark.parametrize("param", ["DateCreatedAfter", "DateCreatedBefore"])
@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "9999-12-31T23:59:59-14:00",  # past year 9999 in UTC
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "1e20",
        "0.5",  # numbers are not read as Unix timestamps
        "1767225600",
        "-1",
        "",
    ],
)
def test_an_invalid_date_filter_is_400(
    api: httpx.Client, assistant_id: str, param: str, value: str
) -> None:
    res = api.get(feedbacks_path(assistant_id), params={param: value})
    assert_error(res, 400, 60008, field=param)


@pytest.mark.parametrize(
    ("param", "value", "code"),
    [
        ("SessionId", "s" * 257, 60008),
        ("MessageId", "m" * 257, 60008),
        ("SessionId", "a\x00b", 60016),
        ("MessageId", "aia_msg_\x00", 60016),
    ],
)
def test_an_invalid_string_filter_is_400(
    api: httpx.Client, assistant_id: str, param: str, value: str, code: int
) -> None:
    res = api.get(feedbacks_path(assistant_id), params={param: value})
    assert_error(res, 400, code, field=param)
