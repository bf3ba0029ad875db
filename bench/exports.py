"""thumbs benchmarks: feedback exports (streamed over HTTP) and imports (the CLI).

Run from the repository root:

    .venv/bin/python bench/exports.py                       # SQLite, 1,000,000 rows
    .venv/bin/python bench/exports.py --database-url postgresql://postgres@127.0.0.1/bench

One account and assistant get ``--rows`` feedback rows written by SQL (a recursive CTE on
SQLite, ``generate_series`` on PostgreSQL): half of them rate a logged reply (so exports
carry the question and the reply), a third name an end user, a tenth are reviewed with a
note. Then, against a real ``thumbs serve`` process:

* **export**: ``GET /v1/Exports/Feedback?Format=jsonl|csv|parquet&AssistantId=…``, read to
  the end by the client; rows/s, and the server's peak resident memory (``VmHWM`` of the
  server process, and the largest ``VmRSS`` sampled during the export);
* **import**: ``thumbs import feedback`` of the JSONL export into a second assistant of the
  same database (rows/s), then the same file again (every row already there).

Every run is bounded in time; the results table is printed and written to
``bench/results/exports.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

PY = sys.executable
THUMBS = [PY, "-m", "thumbs.cli"]


def _sql(dialect: str, n: int, insert: str, select: str) -> str:
    """``INSERT … SELECT … FROM seq(i)`` for i in 1..n, on either store."""
    if dialect == "sqlite":
        return (
            f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) "
            f"{insert} {select} FROM seq"
        )
    return f"{insert} {select} FROM generate_series(1, {n}) AS seq(i)"


def fill(engine: Engine, *, account_pk: int, assistant_pk: int, n: int) -> None:
    """``n`` feedback rows for one assistant, with sessions, messages, end users, a reviewer
    and review decisions, written by SQL in one transaction."""
    d = engine.dialect.name
    if d == "sqlite":

        def ts(expr: str) -> str:
            return f"(strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || ({expr}) || ' seconds') || '.000000')"

        def hexsid(expr: str) -> str:
            return f"printf('%032x', {expr})"
    else:

        def ts(expr: str) -> str:
            return f"(timestamp '2026-01-01' + ({expr}) * interval '1 second')"

        def hexsid(expr: str) -> str:
            return f"lpad(to_hex({expr}), 32, '0')"

    sessions = max(1, n // 10)
    with engine.begin() as conn:

        def base(table: str) -> int:
            return int(conn.execute(text(f"SELECT COALESCE(MAX(pk), 0) FROM {table}")).scalar_one())

        bu, bs, bm, bf, bt = (
            base(t) for t in ("users", "sessions", "messages", "feedbacks", "feedback_transitions")
        )
        reviewer = bu + 1001
        conn.execute(
            text(
                _sql(
                    d,
                    1001,
                    "INSERT INTO users (pk, sid, account_pk, identity, role, date_created, date_updated)",
                    f"SELECT {bu} + i, 'US' || {hexsid(f'{bu} + i')}, {account_pk}, "
                    f"CASE WHEN i = 1001 THEN 'reviewer' ELSE 'user-' || i END, "
                    f"CASE WHEN i = 1001 THEN 'admin' ELSE 'end_user' END, {ts('i')}, {ts('i')}",
                )
            )
        )
        conn.execute(
            text(
                _sql(
                    d,
                    sessions,
                    "INSERT INTO sessions (pk, id, account_pk, assistant_pk, verified, date_created, date_updated)",
                    f"SELECT {bs} + i, 'bench-{bs}-' || i, {account_pk}, {assistant_pk}, false, {ts('i')}, {ts('i')}",
                )
            )
        )
        # message k: k odd the user's question, k even the reply; pair j = (k + 1) / 2
        conn.execute(
            text(
                _sql(
                    d,
                    n,
                    "INSERT INTO messages (pk, id, account_pk, assistant_pk, session_pk, role, content, meta, date_created, date_updated)",
                    f"SELECT {bm} + i, 'aia_msg_bench{bm}-' || i, {account_pk}, {assistant_pk}, "
                    f"{bs} + (((i + 1) / 2 - 1) % {sessions}) + 1, "
                    f"CASE WHEN i % 2 = 1 THEN 'user' ELSE 'assistant' END, "
                    f"CASE WHEN i % 2 = 1 THEN 'How do I reset my password? (' || i || ')' "
                    f"ELSE 'Open Settings, then Security, then Reset password. (' || i || ')' END, "
                    f"'{{}}', {ts('i')}, {ts('i')}",
                )
            )
        )
        # feedback i: even i rates reply message i; every third names an end user; every
        # tenth is reviewed
        conn.execute(
            text(
                _sql(
                    d,
                    n,
                    "INSERT INTO feedbacks (pk, id, account_pk, assistant_pk, session_id, message_id, message_pk, "
                    "user_pk, user_sid, score, text, channel, feedback_type, reason, status, reviewed_by_pk, "
                    "reviewed_at, date_created, date_updated)",
                    f"SELECT {bf} + i, 'aia_fdbk_bench{bf}-' || i, {account_pk}, {assistant_pk}, "
                    f"'bench-{bs}-' || (CASE WHEN i % 2 = 0 THEN ((i / 2 - 1) % {sessions}) + 1 ELSE (i % {sessions}) + 1 END), "
                    f"CASE WHEN i % 2 = 0 THEN 'aia_msg_bench{bm}-' || i END, "
                    f"CASE WHEN i % 2 = 0 THEN {bm} + i END, "
                    f"CASE WHEN i % 3 = 0 THEN {bu} + (i % 1000) + 1 END, "
                    f"CASE WHEN i % 3 = 0 THEN 'US' || {hexsid(f'{bu} + (i % 1000) + 1')} END, "
                    f"(i % 11) / 10.0, 'feedback number ' || i, 'api', "
                    f"CASE WHEN i % 11 >= 5 THEN 'positive' ELSE 'negative' END, "
                    f"CASE WHEN i % 11 < 5 AND i % 2 = 1 THEN 'too vague, ' || i END, "
                    f"CASE WHEN i % 10 = 0 THEN 'reviewed' ELSE 'pending' END, "
                    f"CASE WHEN i % 10 = 0 THEN {reviewer} END, "
                    f"CASE WHEN i % 10 = 0 THEN {ts('i + 3600')} END, {ts('i')}, {ts('i')}",
                )
            )
        )
        conn.execute(
            text(
                _sql(
                    d,
                    n // 10,
                    "INSERT INTO feedback_transitions (pk, id, account_pk, feedback_pk, from_status, to_status, "
                    "actor_pk, actor, note, date_created)",
                    f"SELECT {bt} + i, 'aia_dcsn_bench{bt}-' || i, {account_pk}, {bf} + 10 * i, 'pending', "
                    f"'reviewed', {reviewer}, 'US' || {hexsid(str(reviewer))}, 'checked by hand, ' || i, "
                    f"{ts('10 * i + 3600')}",
                )
            )
        )
        if d == "postgresql":
            for table in ("users", "sessions", "messages", "feedbacks", "feedback_transitions"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'pk'), "
                        f"(SELECT MAX(pk) FROM {table}))"
                    )
                )
        if d == "postgresql":
            conn.execute(text("ANALYZE"))
    if d == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
