"""The import's plain path (``parsing._plain``): the rows an export writes are accepted
without the API's model, so it must accept nothing the model refuses and hold the very
values the model would; anything else is left to the model, which words the rejection.
Compared here row by row, and through whole imports on both stores (the same report and
the same stored rows with the plain path as without it)."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.support.accounts import Account
from tests.support.imports import jsonl, listed, run_import
from tests.support.server import LiveServer
from thumbs.exports import parsing
from thumbs.exports.schemas import FeedbackImport
from thumbs.kit import errors as E
from thumbs.kit.body import validate_fields
from thumbs.kit.timefmt import iso, utcnow

BASE: dict[str, Any] = {
    "id": "aia_fdbk_0192",
    "account_sid": "AC" + "0" * 32,
    "session_id": "s-1",
    "message_id": "aia_msg_1",
    "user_sid": None,
    "score": 0.5,
    "text": "fine",
    "feedback_type": "positive",
    "reviewed_at": None,
    "date_created": "2026-01-02T03:04:05Z",
    "date_updated": "2026-01-02T03:04:05Z",
}

# values at and beyond every limit and type the model checks
STRINGS = [
    "",
    " ",
    "\t\n",
    "\u3000",  # a Unicode space
    "s",
    " s ",
    "s" * 256,
    "s" * 257,
    "t" * 4000,
    "t" * 4001,
    "a\x00b",
    "\x00",
    "line\nbreak",
    "é",
    "aia_msg_",
    "aia_msg_x",
    "aia_msg_\n",
    "aia_msg_x\n",
    "aia_msg_x\ny",
    "aia_msg_" + "x" * 248,
    "aia_msg_" + "x" * 249,
    "aia_msg_\x00",
    "AIA_MSG_x",
    "2026-01-02",
    "2026-01-02T03:04:05Z",
    "2026-01-02 03:04:05",
    "2026-01-02T03:04:05+02:00",
    "2026-01-02T03:04:05.123456Z",
    "2026-01-02Tanything",
    "2026-01-02T\n",
    "2026-01-02X",
    "2026-1-02",
    "\u0662\u0660\u0662\u0666-01-02",  # Arabic-Indic digits: \d in the model's pattern
    "2026-01-02T" + "0" * 53,
    "2026-01-02T" + "0" * 54,
    "2026-01-02T\x00",
    "2026-02-30T00:00:00Z",
    "yesterday",
]
OTHERS: list[Any] = [None, 0, 1, 0.0, 1.0, 0.5, -0.0, -0.1, 1.1, 1e308, True, False, [], {}, ["s"]]
FIELDS = ["id", "session_id", "message_id", "score", "text", "date_created", "date_updated"]


def model_values(data: dict[str, Any], raw: bytes) -> parsing.Values | E.ThumbsError:
    try:
        row = validate_fields(FeedbackImport, parsing._taken(data), raw=raw)
    except E.ThumbsError as err:
        return err
    return parsing._values(row)


def variants() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [dict(BASE), {"session_id": "s"}]
    for name in FIELDS:
        for value in [*STRINGS, *OTHERS]:
            rows.append({**BASE, name: value})
        rows.append({k: v for k, v in BASE.items() if k != name})
    rows.append({**BASE, "sessionId": "s-1"})  # a camelCase spelling: the model's path
    rows.append({**BASE, "dateCreated": "2026-01-02T03:04:05Z"})
    rows.append({**BASE, "userSid": "US1"})  # a column not imported, camelCase
    rows.append({**BASE, "question": "a\x00b"})  # NUL in a column not imported
    rows.append({**BASE, "scroe": 1})
    rows.append({**BASE, "date_updated": "2026-01-03T00:00:00Z"})
    rng = random.Random(10)
    pool = [*STRINGS, *OTHERS]
    for _ in range(3000):
        row = dict(BASE)
        for name in rng.sample(FIELDS, rng.randint(1, 4)):
            row[name] = rng.choice(pool)
        if rng.random() < 0.2:
            row.pop(rng.choice(FIELDS), None)
        rows.append(row)
    return rows


def test_the_plain_path_accepts_only_what_the_model_accepts_with_the_same_values() -> None:
    plain = 0
    for data in variants():
        raw = orjson.dumps(data) + b"\n"
        expected = model_values(dict(data), raw)
        got = parsing._plain(dict(data))
        if got is None:
            continue
        plain += 1
        assert not isinstance(expected, E.ThumbsError), (data, expected.message)
        assert got == expected, data
        assert [type(v) for v in got] == [type(v) for v in expected], data
    assert plain > 100  # the export's rows and many others take it


def test_rows_read_with_the_plain_path_are_those_read_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = b"".join(orjson.dumps(row) + b"\n" for row in variants())

    def report(stream: bytes) -> list[Any]:
        return [
            (line, (err.code, err.details.get("field"), err.message))
            if isinstance(err := parsed, E.ThumbsError)
            else (line, parsed)
            for line, parsed in parsing.read_rows(io.BytesIO(stream), "jsonl")
        ]

    fast = report(data)
    monkeypatch.setattr(parsing, "_plain", lambda _data: None)
    assert report(data) == fast
    assert any(isinstance(r[1], tuple) and len(r[1]) == 3 for r in fast)  # rejections too


def test_an_import_with_the_plain_path_stores_and_rejects_what_the_model_would(
    server: LiveServer,
    api: httpx.Client,
    account: Account,
    assistant_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On each store: the same report for a file of good and bad rows, and once only the
    good rows are left, the same stored feedback with the plain path as without it."""
    started = iso(utcnow() - timedelta(seconds=1))
    rows = variants()[:600]
    data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    fast = run_import(server, account, assistant_id, data)
    assert fast.rejected
    assert fast.imported
    with monkeypatch.context() as patched:
        patched.setattr(parsing, "_plain", lambda _data: None)
        assert run_import(server, account, assistant_id, data).as_dict() == fast.as_dict()

    bad = {r.line for r in fast.rejected}
    good = jsonl(*(row for n, row in enumerate(rows, start=1) if n not in bad))
    fast_good = run_import(server, account, assistant_id, good)
    assert fast_good.committed
    other_id = api.post("/v1/Assistants", json={"name": "model only"}).json()["id"]
    with monkeypatch.context() as patched:
        patched.setattr(parsing, "_plain", lambda _data: None)
        slow_good = run_import(server, account, other_id, good)
    assert slow_good.as_dict() == fast_good.as_dict()

    def stored(aid: str) -> list[tuple[Any, ...]]:
        """The rows' values, a date the import set to its own start ("now") as "now": the
        two imports start at different times."""
        keep = ("session_id", "message_id", "score", "text", "date_created", "date_updated")
        return sorted(
            tuple("now" if k.startswith("date_") and r[k] >= started else r[k] for k in keep)
            for r in listed(api, aid)
        )

    assert stored(assistant_id) == stored(other_id)
    assert len(stored(assistant_id)) == fast_good.imported
