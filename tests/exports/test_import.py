"""Feedback import (the service the CLI runs): rows validated like the API, every bad row
reported with its line and reason and then nothing imported, re-runs that import nothing
twice, and an export imported into another assistant as it is."""

from __future__ import annotations

import json
import math
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.exports.story import build
from tests.support.accounts import Account
from tests.support.http import feedbacks_path
from tests.support.imports import jsonl, listed, run_import
from tests.support.lifecycle import log_turn
from tests.support.server import LiveServer
from thumbs.exports import imports, parsing
from thumbs.feedback.service import assistant_ref
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.store import rollups


def rejected(report: imports.ImportReport) -> list[tuple[int, int, str | None]]:
    return [(r.line, r.code, r.field) for r in report.rejected]


BAD_JSONL = jsonl(
    {"session_id": "s1", "score": 0.5, "text": "fine"},
    {"session_id": "s2", "score": 2},
    b"{not json",
    {"score": 0.5},
    b"   ",
    {"session_id": "s3", "scroe": 1},
    {"session_id": "s4", "message_id": "msg_1"},
    {"session_id": "s5", "date_created": "yesterday"},
    {"session_id": "s6", "score": "0.5"},
    {"session_id": "s7\u0000"},
    [1, 2],
    {"session_id": "s8", "date_created": "2026-02-30T00:00:00Z"},
    {"session_id": "s9", "score": 1.0, "text": "also fine"},
)
BAD_JSONL_REPORT = [
    (2, E.OUT_OF_RANGE, "score"),
    (3, E.MALFORMED_BODY, "body"),
    (4, E.MISSING_FIELD, "session_id"),
    (6, E.UNKNOWN_FIELD, "scroe"),
    (7, E.PATTERN_MISMATCH, "message_id"),
    (8, E.PATTERN_MISMATCH, "date_created"),
    (9, E.WRONG_TYPE, "score"),
    (10, E.INVALID_CHARACTER, "session_id"),
    (11, E.MALFORMED_BODY, "body"),
    (12, E.WRONG_TYPE, "date_created"),
]

BAD_CSV = (
    b"id,session_id,score,text,date_created\n"
    b"a,s1,0.5,fine,2026-01-02T03:04:05Z\n"
    b"b,s2,1.5,,\n"
    b"c,,0.5,,\n"
    b"d,s4,half,,\n"
    b'e,s5,0.1,"a ""quoted""\nline",2026-01-02\n'
    b"f,s6,0.2,x,2026-01-02,extra\n"
    b"g,s7,0.3,x,not a date\n"
    b"h,s8,0.4,,\n"
)
BAD_CSV_REPORT = [
    (3, E.OUT_OF_RANGE, "score"),
    (4, E.MISSING_FIELD, "session_id"),
    (5, E.WRONG_TYPE, "score"),
    (8, E.MALFORMED_BODY, "body"),
    (9, E.PATTERN_MISMATCH, "date_created"),
]


@pytest.mark.parametrize(
    ("fmt", "data", "report"),
    [("jsonl", BAD_JSONL, BAD_JSONL_REPORT), ("csv", BAD_CSV, BAD_CSV_REPORT)],
)
def test_bad_rows_are_each_reported_and_nothing_is_imported(
    server: LiveServer,
    api: httpx.Client,
    account: Account,
    assistant_id: str,
    fmt: imports.SourceFormat,
    data: bytes,
    report: list[tuple[int, int, str]],
) -> None:
    result = run_import(server, account, assistant_id, data, fmt)
    assert rejected(result) == report
    assert all(r.message for r in result.rejected)
    assert not result.committed
    assert result.as_dict()["imported"] == 0
    assert listed(api, assistant_id) == []
    # the same rows without the bad ones import
    good = [
        line
        for number, line in enumerate(data.splitlines(keepends=True), start=1)
        if number not in {n for n, _, _ in report}
    ]
    if fmt == "csv":  # the quoted record spans two lines
        good = [ln for ln in good if not ln.startswith(b"line")]
        good = [ln for ln in good if not ln.startswith(b"e,")]
    fixed = run_import(server, account, assistant_id, b"".join(good), fmt)
    assert fixed.rejected == []
    assert fixed.committed
    assert len(listed(api, assistant_id)) == fixed.imported == 2


def test_a_row_is_refused_for_the_reasons_the_api_refuses_it(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    bodies: list[dict[str, Any]] = [
        {"session_id": ""},
        {"session_id": "   "},
        {"session_id": "s" * 257},
        {"session_id": "s", "text": "t" * 4001},
        {"session_id": "s", "score": -0.1},
        {"session_id": "s", "score": True},
        {"session_id": "s", "score": None, "text": 5},
        {"session_id": "s", "message_id": "aia_msg_"},
        {"session_id": 42},
    ]
    report = run_import(server, account, assistant_id, jsonl(*bodies))
    assert len(report.rejected) == len(bodies)
    for body, row in zip(bodies, report.rejected, strict=True):
        res = api.post(feedbacks_path(assistant_id), json=body)
        assert res.status_code == 400, body
        error = res.json()
        assert (row.code, row.field) == (error["code"], error["details"]["field"]), body
        assert row.message == error["message"]


def test_a_rerun_imports_nothing_twice(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    with_ids = jsonl(
        *(
            {"id": f"src-{i}", "session_id": f"s{i % 3}", "score": (i % 11) / 10, "text": f"#{i}"}
            for i in range(25)
        )
    )
    without_ids = b"session_id,score,text\n" + b"".join(
        b"c%d,0.%d,row %d\n" % (i, i, i) for i in range(5)
    )
    first = run_import(server, account, assistant_id, with_ids)
    assert (first.rows, first.imported, first.present) == (25, 25, 0)
    assert run_import(server, account, assistant_id, without_ids, "csv").imported == 5
    stored = listed(api, assistant_id)
    assert len(stored) == 30
    again = run_import(server, account, assistant_id, with_ids)
    assert (again.imported, again.present, again.rejected) == (0, 25, [])
    assert again.committed
    csv_again = run_import(server, account, assistant_id, without_ids, "csv")
    assert (csv_again.imported, csv_again.present) == (0, 5)
    assert listed(api, assistant_id) == stored
    # a file with some new rows: only those
    more = with_ids + jsonl({"id": "src-new", "session_id": "s", "score": 1})
    third = run_import(server, account, assistant_id, more)
    assert (third.imported, third.present) == (1, 25)
    assert len(listed(api, assistant_id)) == 31


def test_a_dry_run_counts_and_writes_nothing(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    data = jsonl({"session_id": "s", "score": 1}, {"session_id": "t", "score": 0})
    report = run_import(server, account, assistant_id, data, dry_run=True)
    assert (report.imported, report.committed) == (2, False)
    assert report.as_dict()["would_import"] == 2
    assert listed(api, assistant_id) == []


def test_repeated_rows_in_a_file(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    same = {"session_id": "s", "score": 0.5, "text": "twice"}
    report = run_import(server, account, assistant_id, jsonl(same, same, {**same, "id": "x"}))
    assert (report.imported, report.repeated) == (2, 1)
    clash = jsonl(
        {"id": "y", "session_id": "s", "score": 1}, {"id": "y", "session_id": "s", "score": 0}
    )
    report = run_import(server, account, assistant_id, clash)
    assert rejected(report) == [(2, E.INVALID_VALUE, "id")]
    assert "line 1" in report.rejected[0].message
    assert len(listed(api, assistant_id)) == 2


def test_an_export_imports_into_another_assistant_and_not_twice_into_its_own(
    server: LiveServer, api: httpx.Client, account: Account, tmp_path: Path
) -> None:
    story = build(api)
    export = api.get("/v1/Exports/Feedback", params={"AssistantId": story.assistant_id})
    assert export.status_code == 200
    source = [json.loads(line) for line in export.text.splitlines()]
    back = run_import(server, account, story.assistant_id, export.content)
    assert (back.imported, back.present) == (0, len(source))  # their ids are this assistant's
    target = api.post("/v1/Assistants", json={"name": "Target", "positive_threshold": 0.95})
    target_id = target.json()["id"]
    moved = run_import(server, account, target_id, export.content)
    assert (moved.imported, moved.rejected) == (len(source), [])
    copies = listed(api, target_id)
    twilio = ("session_id", "message_id", "score", "text", "date_created", "date_updated")
    assert [{k: c[k] for k in twilio} for c in copies] == [
        {k: s[k] for k in twilio} for s in source
    ]
    assert all(c["user_sid"] is None for c in copies)
    imported = [
        json.loads(line)
        for line in api.get(
            "/v1/Exports/Feedback", params={"AssistantId": target_id}
        ).text.splitlines()
    ]
    assert {r["channel"] for r in imported} == {"import"}
    assert {r["status"] for r in imported} == {"pending"}
    # the type follows the target's threshold (0.95), as the API would set it
    assert [r["feedback_type"] for r in imported] == [
        None if s["score"] is None else "positive" if s["score"] >= 0.95 else "negative"
        for s in source
    ]
    # rows that rate a message logged in the account are linked to it
    assert [r["reply"] for r in imported] == [s["reply"] for s in source]
    assert run_import(server, account, target_id, export.content).imported == 0


def test_an_imported_row_keeps_its_dates_and_links_its_message(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    mid = log_turn(api, assistant_id, session_id="logged")
    data = jsonl(
        {
            "id": "twilio-1",
            "session_id": "logged",
            "message_id": mid,
            "score": 0.25,
            "date_created": "2025-03-04T05:06:07+02:00",
        }
    )
    assert run_import(server, account, assistant_id, data).imported == 1
    (row,) = listed(api, assistant_id)
    assert row["date_created"] == "2025-03-04T03:06:07Z"
    assert row["date_updated"] == row["date_created"]
    assert row["id"].startswith("aia_fdbk_")
    (exported,) = [
        json.loads(line)
        for line in api.get("/v1/Exports/Feedback", params={"Channel": "import"}).text.splitlines()
    ]
    assert exported["reply"] == "Click 'Forgot password' on the login page."
    assert exported["question"] == "How do I reset my password?"
    assert exported["feedback_type"] == "negative"


def test_an_unknown_csv_column_is_one_rejection(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    data = b"session_id,scroe\n" + b"s,1\n" * 1000
    report = run_import(server, account, assistant_id, data, "csv")
    assert rejected(report) == [(1, E.UNKNOWN_FIELD, "scroe")]


def test_repeated_keys_and_nan_are_refused_as_in_a_body(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    lines = [b'{"session_id": "s", "session_id": "t"}', b'{"session_id": "s", "score": NaN}']
    report = run_import(server, account, assistant_id, b"\n".join(lines) + b"\n")
    assert len(report.rejected) == 2
    for raw, row in zip(lines, report.rejected, strict=True):
        res = api.post(
            feedbacks_path(assistant_id), content=raw, headers={"Content-Type": "application/json"}
        )
        error = res.json()
        assert (row.code, row.field) == (error["code"], error["details"]["field"]), raw


def import_file(
    server: LiveServer, account: Account, assistant_id: str, path: Path, *, apart: bool
) -> imports.ImportReport:
    with server.runtime.store.session() as session:
        ref = assistant_ref(session, account_pk=account.pk, assistant_id=assistant_id)
    with path.open("rb") as stream:
        return imports.import_feedback(
            server.runtime.store.engine,
            account_sid=account.sid,
            assistant=ref,
            stream=stream,
            fmt=imports.format_of(path),
            parse_apart=apart,
        )


@pytest.mark.parametrize(
    ("fmt", "data"), [("jsonl", BAD_JSONL), ("csv", BAD_CSV)], ids=["jsonl", "csv"]
)
def test_a_file_parsed_by_a_second_process_gives_the_same_report_and_rows(
    server: LiveServer,
    api: httpx.Client,
    account: Account,
    assistant_id: str,
    tmp_path: Path,
    fmt: str,
    data: bytes,
) -> None:
    """Large files are parsed apart while the import writes: the same rejections (line,
    code, field, message), and once fixed the same rows as a file parsed in-process."""
    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(data)
    apart = import_file(server, account, assistant_id, bad, apart=True)
    inline = import_file(server, account, assistant_id, bad, apart=False)
    assert apart.rejected == inline.rejected
    assert apart.rejected
    assert apart.as_dict() == inline.as_dict()
    assert listed(api, assistant_id) == []

    rows = [{"id": f"r{i}", "session_id": f"s{i % 3}", "score": (i % 8) / 7} for i in range(2500)]
    rows += [rows[5], {"session_id": "no id", "text": "keyed by content"}]
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl(*rows))
    other_id = api.post("/v1/Assistants", json={"name": "inline"}).json()["id"]
    first = import_file(server, account, assistant_id, good, apart=True)
    assert (first.imported, first.repeated, first.rejected) == (2501, 1, [])
    assert import_file(server, account, other_id, good, apart=False).imported == 2501
    assert import_file(server, account, assistant_id, good, apart=True).present == 2501

    def content(aid: str) -> list[tuple[Any, ...]]:
        res = api.get(feedbacks_path(aid), params={"PageSize": 1000})
        found = res.json()["feedbacks"]
        while res.json()["meta"]["next_page_url"]:
            res = api.get(res.json()["meta"]["next_page_url"])
            found += res.json()["feedbacks"]
        return sorted((f["session_id"], f["score"], f["text"]) for f in found)

    assert content(assistant_id) == content(other_id)


def test_a_file_parsed_by_several_processes_rejects_exactly_its_bad_lines(
    server: LiveServer,
    api: httpx.Client,
    account: Account,
    assistant_id: str,
    tmp_path: Path,
) -> None:
    """A large JSONL file is parsed by several processes, each taking blocks of lines in
    turn: every bad line is reported with its own line number, whichever process read it;
    a key met again in another process's block is a repeat (same row) or a clash."""
    assert imports.PARSERS > 1
    n = 4 * parsing.BATCH_ROWS + 500  # five blocks of lines: every process takes several
    rows: list[Any] = [
        {"id": f"r{i}", "session_id": f"s{i % 7}", "score": (i % 5) / 4} for i in range(n)
    ]
    bad = {
        7: {"id": "b7", "session_id": "s", "score": 2},
        1500: b"{not json",
        2999: {"id": "b2999", "score": 0.5},
        4200: {**rows[10], "score": 0.123},  # the id of line 11, other values
    }
    repeated_line, repeated_of = 3100, 1200  # the same row again, in another block
    lines = list(rows)
    for line, row in bad.items():
        lines[line - 1] = row
    lines[repeated_line - 1] = rows[repeated_of - 1]
    lines[2499] = b"   "  # a blank line is no row
    path = tmp_path / "big.jsonl"
    path.write_bytes(jsonl(*lines))

    apart = import_file(server, account, assistant_id, path, apart=True)
    inline = import_file(server, account, assistant_id, path, apart=False)
    expected = [
        (7, E.OUT_OF_RANGE, "score"),
        (1500, E.MALFORMED_BODY, "body"),
        (2999, E.MISSING_FIELD, "session_id"),
        (4200, E.INVALID_VALUE, "id"),
    ]
    assert rejected(apart) == expected
    assert "line 11 " in apart.rejected[-1].message
    assert apart.as_dict() == inline.as_dict()
    assert (apart.rows, apart.repeated, apart.committed) == (n - 1, 1, False)
    assert listed(api, assistant_id) == []

    for line in bad:  # fixed: every row but the repeat and the blank line is imported
        lines[line - 1] = rows[line - 1]
    path.write_bytes(jsonl(*lines))
    first = import_file(server, account, assistant_id, path, apart=True)
    assert (first.imported, first.repeated, first.rejected) == (n - 2, 1, [])
    again = import_file(server, account, assistant_id, path, apart=True)
    assert (again.imported, again.present, again.repeated) == (0, n - 2, 1)
    with server.runtime.store.engine.connect() as conn:
        count = conn.exec_driver_sql(
            "SELECT count(*) FROM feedbacks WHERE channel = 'import'"
        ).scalar_one()
    assert count == n - 2


def test_a_first_import_still_finds_a_row_it_wrote_under_a_source_id(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    """Into an assistant without feedback no lookup is made per batch; a row whose id in
    the source is the id this import gave an earlier row is still found there."""
    first = {"id": "a", "session_id": "s", "date_created": "2026-01-02T03:04:05Z"}
    given = ids.derived_id(
        ids.FEEDBACK, account.sid, assistant_id, "id:a", at=datetime(2026, 1, 2, 3, 4, 5)
    )
    filler = [{"id": f"f{i}", "session_id": "s"} for i in range(parsing.BATCH_ROWS)]
    data = jsonl(first, *filler, {"id": given, "session_id": "t"})
    report = run_import(server, account, assistant_id, data)
    assert (report.imported, report.present) == (1 + parsing.BATCH_ROWS, 1)


def test_a_failure_while_writing_leaves_nothing_imported(
    server: LiveServer,
    api: httpx.Client,
    account: Account,
    assistant_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error while a batch is written ends the import, which rolls back what the
    batches before it wrote."""
    real = imports.write_imported
    calls = 0

    def failing(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the store went away")
        real(*args)

    monkeypatch.setattr(imports, "write_imported", failing)
    rows = [{"id": f"w{i}", "session_id": "s"} for i in range(3 * parsing.BATCH_ROWS)]
    with pytest.raises(RuntimeError, match="went away"):
        run_import(server, account, assistant_id, jsonl(*rows))
    assert calls == 2
    assert listed(api, assistant_id) == []
    monkeypatch.setattr(imports, "write_imported", real)
    assert run_import(server, account, assistant_id, jsonl(*rows)).imported == len(rows)


def test_imported_rows_are_counted_in_the_rollups(
    server: LiveServer, account: Account, assistant_id: str, tmp_path: Path
) -> None:
    """Every row written (over several batches, parsed apart or not, with and without a
    score, text and dates) is in the analytics cells as a recomputation from the rows
    gives them; rows skipped (present, repeated) add nothing."""
    rows = [
        {
            "id": f"c{i}",
            "session_id": f"s{i % 5}",
            **({"score": (i % 11) / 10} if i % 4 else {}),
            **({"text": f"note {i}"} if i % 3 else {}),
            **(
                {"date_created": f"2026-0{1 + i % 3}-0{1 + i % 7}T{i % 24:02d}:30:00Z"}
                if i % 6
                else {}
            ),
        }
        for i in range(2 * parsing.BATCH_ROWS + 300)
    ]
    path = tmp_path / "counted.jsonl"
    path.write_bytes(jsonl(*rows, rows[3]))
    assert import_file(server, account, assistant_id, path, apart=True).imported == len(rows)
    assert import_file(server, account, assistant_id, path, apart=False).present == len(rows)
    other = jsonl(*({**r, "id": f"d{i}"} for i, r in enumerate(rows[:1200])))
    assert run_import(server, account, assistant_id, other).imported == 1200
    with server.runtime.store.engine.connect() as conn:
        stored = rollups.stored(conn, account_pk=account.pk)
        expected = rollups.recomputed(conn, account_pk=account.pk)
    for grain, cells in expected.items():
        assert set(stored[grain]) == set(cells), grain
        for key, values in cells.items():
            for want, got in zip(values, stored[grain][key], strict=True):
                assert math.isclose(got, want, abs_tol=1e-9), (grain, key)


def test_an_imports_memory_does_not_grow_with_its_rows(
    server: LiveServer, api: httpx.Client, account: Account
) -> None:
    """What the importing process holds of the rows it took (the keys met, the ids written)
    is on disk or of a fixed size: eight times the rows, the same peak of Python memory
    (a key kept in memory costs about 200 bytes: 28,000 more rows would be 5 MB more)."""

    def peak(rows: int) -> int:
        res = api.post("/v1/Assistants", json={"name": f"memory {rows}"})
        assert res.status_code == 201, res.text
        data = jsonl(
            *(
                {"id": f"m{i}", "session_id": f"s{i % 97}", "score": (i % 5) / 4}
                for i in range(rows)
            )
        )
        tracemalloc.start()
        try:
            report = run_import(server, account, res.json()["id"], data)
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (report.imported, report.committed) == (rows, True)
        return top - len(data)  # the file itself is the caller's

    small, large = peak(4_000), peak(32_000)
    assert large - small < 1_500_000, (small, large)
