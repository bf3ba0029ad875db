"""``GET /v1/Exports/Feedback``: every format read back by a real reader (csv, json,
pyarrow) and compared field by field with what the API says of the same feedback; the
lists' filters; format negotiation; errors in the one shape; a streamed (chunked) body
larger than one read chunk, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from tests.exports.story import Story, api_record, build
from tests.support.accounts import Account
from tests.support.http import assert_error, create_feedback, seed_feedbacks
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer
from thumbs.exports.formats import FEEDBACK_NAMES
from thumbs.exports.service import CHUNK_ROWS
from thumbs.kit.timefmt import iso

EXPORT = "/v1/Exports/Feedback"


@pytest.fixture
def story(api: httpx.Client) -> Story:
    return build(api)


def read_csv(body: bytes) -> list[dict[str, Any]]:
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    assert rows
    assert list(rows[0]) == list(FEEDBACK_NAMES)
    # CSV has no null: an empty field is one; the score is the only number
    return [
        {k: (None if v == "" else float(v) if k == "score" else v) for k, v in row.items()}
        for row in rows
    ]


def read_jsonl(body: bytes) -> list[dict[str, Any]]:
    assert body.endswith(b"\n")
    return [json.loads(line) for line in body.decode("utf-8").splitlines()]


def read_parquet(body: bytes) -> list[dict[str, Any]]:
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == list(FEEDBACK_NAMES)
    assert str(table.schema.field("score").type) == "double"
    assert str(table.schema.field("date_created").type) == "timestamp[ms, tz=UTC]"
    return [
        {
            k: iso(v) if k in ("date_created", "date_updated", "reviewed_at") else v
            for k, v in r.items()
        }
        for r in table.to_pylist()
    ]


READERS = {"csv": read_csv, "jsonl": read_jsonl, "parquet": read_parquet}
MEDIA = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_format_holds_what_the_api_says_of_each_feedback(
    api: httpx.Client, story: Story, fmt: str
) -> None:
    res = api.get(EXPORT, params={"Format": fmt, "AssistantId": story.assistant_id})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith(MEDIA[fmt])
    assert res.headers["content-disposition"].endswith(f'.{fmt}"')
    records = READERS[fmt](res.content)
    assert [r["id"] for r in records] == story.feedback_ids  # oldest first
    for record in records:
        expected = api_record(api, story.assistant_id, record["id"])
        if fmt == "csv":  # CSV cannot tell an empty string from a null
            expected = {k: None if v == "" else v for k, v in expected.items()}
        assert record == expected
    # the story's feedback, as the API tells it: every kind of row is there
    by_channel = {(r["channel"], r["status"]) for r in records}
    assert by_channel >= {("thumbs", "reviewed"), ("thumbs", "dismissed"), ("api", "pending")}
    assert any(r["reviewed_by"] and r["reviewed_by"].startswith("US") for r in records)
    assert any(r["reviewed_by"] and r["reviewed_by"].startswith("AC") for r in records)
    assert any(r["question"] and r["reply"] for r in records)
    assert any(r["user_identity"] for r in records)


def test_jsonl_is_the_default_and_accept_chooses_a_format(api: httpx.Client, story: Story) -> None:
    plain = api.get(EXPORT)
    assert plain.headers["content-type"] == "application/x-ndjson"
    assert len(read_jsonl(plain.content)) == 7  # the account's: both assistants
    chosen = api.get(EXPORT, headers={"Accept": "text/html, text/csv;q=0.5, */*;q=0.1"})
    assert chosen.headers["content-type"].startswith("text/csv")
    assert len(read_csv(chosen.content)) == 7
    parquet = api.get(EXPORT, headers={"Accept": "application/vnd.apache.parquet"})
    assert len(read_parquet(parquet.content)) == 7
    # the parameter wins over Accept
    param = api.get(EXPORT, params={"Format": "jsonl"}, headers={"Accept": "text/csv"})
    assert param.headers["content-type"] == "application/x-ndjson"


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"Status": "reviewed"}, lambda r: r["status"] == "reviewed"),
        ({"FeedbackType": "negative"}, lambda r: r["feedback_type"] == "negative"),
        ({"FeedbackType": "none"}, lambda r: r["feedback_type"] is None),
        ({"Channel": "api"}, lambda r: r["channel"] == "api"),
        ({"HasReason": "true"}, lambda r: bool(r["reason"])),
        ({"HasReason": "false"}, lambda r: not r["reason"]),
        ({"SessionId": "chat-1"}, lambda r: r["session_id"] == "chat-1"),
    ],
)
def test_the_lists_filters_select_the_same_feedback(
    api: httpx.Client, story: Story, params: dict[str, str], expect: Any
) -> None:
    everything = read_jsonl(api.get(EXPORT, params={"AssistantId": story.assistant_id}).content)
    res = api.get(EXPORT, params={"AssistantId": story.assistant_id, **params})
    assert res.status_code == 200, res.text
    got = [r["id"] for r in read_jsonl(res.content)]
    assert got == [r["id"] for r in everything if expect(r)]
    assert got  # the story has some of each


def test_end_user_and_date_filters(api: httpx.Client, story: Story) -> None:
    everything = read_jsonl(api.get(EXPORT, params={"AssistantId": story.assistant_id}).content)
    user = next(r["user_sid"] for r in everything if r["user_sid"])
    mine = read_jsonl(api.get(EXPORT, params={"UserSid": user}).content)
    assert [r["id"] for r in mine] == [r["id"] for r in everything if r["user_sid"] == user]
    last = everything[-1]["date_created"]
    after = read_jsonl(api.get(EXPORT, params={"DateCreatedAfter": last}).content)
    assert {r["id"] for r in after} <= {r["id"] for r in read_jsonl(api.get(EXPORT).content)}
    assert all(r["date_created"] >= last for r in after)
    before = api.get(EXPORT, params={"DateCreatedBefore": "2000-01-01T00:00:00Z"})
    assert before.content == b""


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"Format": "xml"}, 400, 60008, "Format"),
        ({"Status": "approved"}, 400, 60008, "Status"),
        ({"DateCreatedAfter": "yesterday"}, 400, 60008, "DateCreatedAfter"),
        ({"AssistantId": "aia_asst_nope"}, 404, 20404, None),
        ({"UserSid": "US" + "0" * 32}, 404, 20404, None),
    ],
)
def test_bad_filters_are_refused_in_the_one_error_shape(
    api: httpx.Client,
    story: Story,
    params: dict[str, str],
    status: int,
    code: int,
    field: str | None,
) -> None:
    assert_error(api.get(EXPORT, params=params), status, code, field=field)


def test_exports_are_for_staff_of_the_account(
    server: LiveServer, api: httpx.Client, story: Story, other_account: Account
) -> None:
    with server.client() as anonymous:
        assert_error(anonymous.get(EXPORT), 401, 20003)
    end_user = api.get(EXPORT, headers={"X-Thumbs-Identity": "user-1"})
    assert_error(end_user, 403, 60403)
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        assert other.get(EXPORT).content == b""
        assert_error(other.get(EXPORT, params={"AssistantId": story.assistant_id}), 404, 20404)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_a_large_export_is_streamed_in_chunks_and_arrives_whole(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str, fmt: str
) -> None:
    count = 2 * CHUNK_ROWS + 123
    ids = seed_feedbacks(server, account, assistant_id, count)
    with api.stream("GET", EXPORT, params={"Format": fmt, "AssistantId": assistant_id}) as res:
        assert res.status_code == 200
        assert res.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in res.headers
        body = b"".join(res.iter_bytes())
    records = READERS[fmt](body)
    assert [r["id"] for r in records] == ids
    assert [r["text"] for r in records] == [f"#{i}" for i in range(count)]


HOSTILE_TEXTS = [
    'quote " backslash \\ slash / tab \t newline \n return \r',
    "controls \x01\x08\x0c\x1f and DEL \x7f",
    "unicode é ß 日本語 emoji 🙂 line separator \u2028 paragraph \u2029",
    "",
    '{"looks": "like json"}\n{"id": "x"}',
]
HOSTILE_SCORES = [0.0, 1.0, 0.1, 1 / 3, 0.30000000000000004, 1e-7, 5e-324, 0.9999999999999999]


def test_jsonl_holds_every_string_and_score_exactly_as_the_api_gives_them(
    api: httpx.Client, assistant_id: str
) -> None:
    """The database writes the JSONL records: every string escaped so that it reads back
    the same, every score the same double (not rounded to 15 digits), one record a line."""
    ids = []
    for i, score in enumerate(HOSTILE_SCORES):
        text = HOSTILE_TEXTS[i % len(HOSTILE_TEXTS)]
        ids.append(
            create_feedback(api, assistant_id, session_id=f"s{i}", score=score, text=text)["id"]
        )
    ids.append(create_feedback(api, assistant_id, session_id="no score")["id"])
    res = api.get(EXPORT, params={"Format": "jsonl", "AssistantId": assistant_id})
    lines = res.content.split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == len(ids) + 1
    records = [json.loads(line) for line in lines[:-1]]
    assert [r["id"] for r in records] == ids
    for record in records:
        assert record == api_record(api, assistant_id, record["id"])
    assert [r["score"] for r in records] == [*HOSTILE_SCORES, None]


def test_jsonl_escapes_every_string_the_database_writes(
    api: httpx.Client, assistant_id: str
) -> None:
    """Every string column of a record (the question and the reply from the logged turn, the
    end user's identity, the reason, the review note, …) holds text that JSON must escape:
    each line is one compact record with the keys in the columns' order, and reads back as
    what the API says of that feedback, field by field."""
    ids = []
    for i, hostile in enumerate(HOSTILE_TEXTS):
        reply = log_turn(
            api,
            assistant_id,
            session_id=f"session-{i}",
            body=f"question {hostile}",
            reply=f"reply {hostile}",
            identity=f"user {i} {hostile[:10].strip()}",
        )
        res = thumbs(api, reply, "negative", identity=f"user {i}", reason=f"reason {hostile}")
        assert res.status_code == 201, res.text
        fid = res.json()["id"]
        res = api.post(f"/v1/Review/{fid}/Approve", json={"note": f"note {hostile}"})
        assert res.status_code == 200, res.text
        ids.append(fid)
    body = api.get(EXPORT, params={"Format": "jsonl", "AssistantId": assistant_id}).content
    lines = body.split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == len(ids) + 1
    for line, fid in zip(lines[:-1], ids, strict=True):
        pairs = json.loads(line, object_pairs_hook=list)
        assert [k for k, _ in pairs] == list(FEEDBACK_NAMES)
        record = dict(pairs)
        assert record["id"] == fid
        assert record == api_record(api, assistant_id, fid)
        # compact: no space but inside strings, as json.dumps writes it without any
        assert line == json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
