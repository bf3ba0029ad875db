"""``thumbs export`` and ``thumbs import``, run for real in a subprocess against the live
server's database: the files hold what the HTTP exports hold, a progress bar on standard
error, imports that exit non-zero with the list of bad rows and import nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.exports.story import build
from tests.support.accounts import Account
from tests.support.http import feedbacks_path
from tests.support.processes import clean_env, no_traceback
from tests.support.processes import run_thumbs as thumbs
from tests.support.server import LiveServer


@pytest.fixture
def env(server: LiveServer) -> dict[str, str]:
    return clean_env(THUMBS_DATABASE_URL=server.runtime.store.url)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_feedback_writes_what_the_http_export_sends(
    api: httpx.Client, account: Account, env: dict[str, str], tmp_path: Path, fmt: str
) -> None:
    story = build(api)
    out = tmp_path / f"feedback.{fmt}"
    args = ["--account", account.sid, "--assistant", story.assistant_id, "--format", fmt]
    res = thumbs("export", "feedback", *args, "--output", str(out), env=env)
    assert res.returncode == 0, res.stderr
    assert "Exporting feedback" in res.stderr
    assert "Exported 6 feedback" in res.stderr
    assert res.stdout == ""
    assert not (tmp_path / f"feedback.{fmt}.partial").exists()
    http = api.get(
        "/v1/Exports/Feedback", params={"Format": fmt, "AssistantId": story.assistant_id}
    )
    if fmt == "parquet":
        assert pq.read_table(out).to_pylist() == pq.read_table(io.BytesIO(http.content)).to_pylist()
    else:
        assert out.read_bytes() == http.content


def test_export_feedback_filters_and_standard_output(
    api: httpx.Client, account: Account, env: dict[str, str]
) -> None:
    build(api)
    res = thumbs(
        "export", "feedback", "--account", account.sid, "--format", "jsonl", "--output", "-",
        "--status", "reviewed", "--since", "2000-01-01", env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 2
    assert {r["status"] for r in rows} == {"reviewed"}


def test_export_golden_openai(
    api: httpx.Client, account: Account, env: dict[str, str], tmp_path: Path
) -> None:
    build(api)
    out = tmp_path / "train.jsonl"
    res = thumbs(
        "export", "golden", "--account", account.sid, "--format", "openai", "--output", str(out),
        env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Exported 2 golden examples" in res.stderr
    http = api.get("/v1/Exports/Golden", params={"Format": "openai"})
    assert out.read_bytes() == http.content


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "Invalid value for '--format'"),
        (["--format", "csv", "--assistant", "aia_asst_nope"], "aia_asst_nope was not found"),
        (["--format", "csv", "--since", "soon"], "give an ISO 8601 date"),
    ],
)
def test_export_refuses_bad_options_in_one_line(
    account: Account, env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "x"
    res = thumbs(
        "export", "feedback", "--account", account.sid, *args, "--output", str(out), env=env
    )
    assert res.returncode != 0
    assert message in res.stderr
    no_traceback(res)
    assert not out.exists()


def test_import_with_bad_rows_exits_1_lists_them_and_imports_nothing(
    api: httpx.Client, account: Account, assistant_id: str, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "backfill.jsonl"
    path.write_text(
        '{"session_id": "a", "score": 1}\n{"session_id": "b", "score": 7}\n{"score": 1}\n'
    )
    args = ["import", "feedback", str(path), "--account", account.sid, "--assistant", assistant_id]
    res = thumbs(*args, env=env)
    assert res.returncode == 1
    assert "line 2: 60004 score:" in res.stdout
    assert "line 3: 60002 session_id:" in res.stdout
    assert "2 of 3 rows rejected: nothing imported" in res.stdout
    no_traceback(res)
    assert api.get(feedbacks_path(assistant_id)).json()["feedbacks"] == []
    as_json = thumbs(*args, "--json", env=env)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert [(r["line"], r["code"], r["field"]) for r in report["rejected"]] == [
        (2, 60004, "score"),
        (3, 60002, "session_id"),
    ]
    assert (report["imported"], report["committed"]) == (0, False)


def test_import_then_rerun(
    api: httpx.Client, account: Account, assistant_id: str, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "backfill.csv"
    path.write_text("id,session_id,score,text\n1,a,1,good\n2,b,0,bad\n")
    args = ["import", "feedback", str(path), "--account", account.sid, "--assistant", assistant_id]
    first = thumbs(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "2 rows: imported 2, already present 0" in first.stdout
    second = thumbs(*args, env=env)
    assert second.returncode == 0, second.stderr
    assert "2 rows: imported 0, already present 2" in second.stdout
    assert len(api.get(feedbacks_path(assistant_id)).json()["feedbacks"]) == 2


def test_import_needs_a_known_extension(
    account: Account, assistant_id: str, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "backfill.txt"
    path.write_text("{}\n")
    res = thumbs(
        "import", "feedback", str(path), "--account", account.sid, "--assistant", assistant_id,
        env=env,
    )  # fmt: skip
    assert res.returncode == 1
    assert ".csv or .jsonl" in res.stderr
    no_traceback(res)
