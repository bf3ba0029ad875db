"""thumbs benchmarks: feedback exports (streamed over HTTP) and imports (the CLI).

Run from the repository root:

    .venv/bin/python bench/exports.py                       # SQLite, 1,000,000 rows
    .venv/bin/python bench/exports.py --database-url sqlite \
        --database-url postgresql://postgres@127.0.0.1/bench  # both, one after the other

One account and assistant get ``--rows`` feedback rows written by SQL (a recursive CTE on
SQLite, ``generate_series`` on PostgreSQL): half of them rate a logged reply (so exports
carry the question and the reply), a third name an end user, a tenth are reviewed with a
note. Then, against a real ``thumbs serve`` process:

* **export**: ``GET /v1/Exports/Feedback?Format=jsonl|csv|parquet&AssistantId=…``, read to
  the end by the client; rows/s, and the server's peak resident memory (``VmHWM`` of the
  server process, and the largest ``VmRSS`` sampled during the export);
* **import**: ``thumbs import feedback`` of the JSONL export into a second assistant of the
  same database (rows/s), then the same file again (every row already there).

Every run is bounded in time; each store's results table is written to
``bench/results/exports.md`` (``exports-postgresql.md``), and all of them are printed at the
end. Each line records the load average and a CPU calibration (a fixed pure-Python loop):
the reference machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from run import Proc, free_port, wait_up  # noqa: E402

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


# -- measuring -------------------------------------------------------------------------------


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def calibration() -> float:
    """CPU seconds of a fixed pure-Python loop: compare runs made under different loads."""
    t = time.process_time()
    s = 0
    for i in range(3_000_000):
        s += i * i % 7
    return time.process_time() - t


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))
            time.sleep(0.02)


def export_once(
    url: str, auth: tuple[str, str], pid: int, params: dict[str, str], sink: Path | None
) -> dict[str, float]:
    sampler = RssSampler(pid)
    sampler.start()
    cpu0, t0, size, newlines = proc_cpu(pid), time.monotonic(), 0, 0
    out = sink.open("wb") if sink else None
    try:
        with httpx.stream(
            "GET", url + "/v1/Exports/Feedback", params=params, auth=auth, timeout=600
        ) as res:
            res.raise_for_status()
            for part in res.iter_raw(1 << 20):
                size += len(part)
                newlines += part.count(b"\n")
                if out:
                    out.write(part)
    finally:
        if out:
            out.close()
        sampler.done.set()
        sampler.join()
    return {
        "seconds": time.monotonic() - t0,
        "server_cpu": proc_cpu(pid) - cpu0,
        "bytes": size,
        "newlines": newlines,
        "rss_peak": sampler.peak,
    }


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one ``thumbs`` command, and its standard output."""
    before = os.times()
    t0 = time.monotonic()
    res = subprocess.run(
        [*THUMBS, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=1800
    )
    wall = time.monotonic() - t0
    after = os.times()
    if res.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed: {res.stdout[-2000:]} {res.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="a database to run on (repeat it for several; 'sqlite' is a new SQLite file); "
        "default: SQLite only",
    )
    ap.add_argument("--formats", default="jsonl,csv,parquet")
    args = ap.parse_args()
    reports = [
        run_store(None if url == "sqlite" else url, args.rows, args.formats.split(","))
        for url in (args.database_url or ["sqlite"])
    ]
    print("\n" + "\n".join(reports))


def run_store(database_url: str | None, n_rows: int, fmts: list[str]) -> str:
    """Fill one store, export and import; writes its results file and returns its table."""
    from thumbs.auth import service as auth
    from thumbs.config import normalize_database_url
    from thumbs.kit import ids
    from thumbs.store import migrate
    from thumbs.store.engine import Store, StoreLimits
    from thumbs.store.models import Assistant

    tmp = Path(tempfile.mkdtemp(prefix="thumbs-bench-exports-"))
    url = normalize_database_url(database_url) if database_url else f"sqlite:///{tmp / 'thumbs.db'}"
    env = {"THUMBS_DATABASE_URL": url, "THUMBS_LOG_LEVEL": "warning", "THUMBS_DATA_DIR": str(tmp)}
    store_name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    rows: list[str] = []
    server: Proc | None = None
    try:
        migrate.upgrade(url)
        store = Store(
            url, limits=StoreLimits(statement_timeout=0)
        )  # the fill is one long statement
        with store.session() as db:
            created = auth.create_account(db, name="exports-bench")
            source = Assistant(
                id=ids.new_id(ids.ASSISTANT),
                account_pk=created.account.pk,
                name="big",
                customer_ai={},
            )
            target = Assistant(
                id=ids.new_id(ids.ASSISTANT),
                account_pk=created.account.pk,
                name="import",
                customer_ai={},
            )
            db.add_all([source, target])
            db.flush()
            sid, token, account_pk = created.account.sid, created.auth_token, created.account.pk
            source_pk, source_id, target_id = source.pk, source.id, target.id
        t0 = time.monotonic()
        fill(store.engine, account_pk=account_pk, assistant_pk=source_pk, n=n_rows)
        filled = time.monotonic() - t0
        store.dispose()
        print(
            f"filled {n_rows:,} feedback rows (and their messages, users, decisions) in {filled:.0f} s"
        )
        rows.append(
            f"| data: {n_rows:,} feedback rows written by SQL | {filled:.0f} s | {n_rows / filled:,.0f} rows/s |"
        )

        port = free_port()
        server = Proc([*THUMBS, "serve", "--port", str(port)], env)
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/openapi.json", timeout=120)
        pid = server.p.pid
        idle_rss = proc_status(pid, "VmRSS")
        print(f"server pid {pid}, resident {idle_rss / 2**20:.0f} MiB before the exports")
        jsonl_file = tmp / "export.jsonl"
        for fmt in fmts:
            cal = calibration()
            load = os.getloadavg()[0]
            m = export_once(
                base,
                (sid, token),
                pid,
                {"Format": fmt, "AssistantId": source_id},
                jsonl_file if fmt == "jsonl" else None,
            )
            if fmt == "jsonl" and m["newlines"] != n_rows:
                raise SystemExit(f"the JSONL export has {m['newlines']} lines, not {n_rows}")
            rate = n_rows / m["seconds"]
            cpu_rate = n_rows / m["server_cpu"]
            print(
                f"export {fmt}: {m['seconds']:.1f} s, {rate:,.0f} rows/s; server CPU {m['server_cpu']:.1f} s "
                f"({cpu_rate:,.0f} rows per CPU-second); {m['bytes'] / 2**20:.0f} MiB; server RSS peak "
                f"{m['rss_peak'] / 2**20:.0f} MiB; load {load:.1f}; calibration {cal:.2f} s"
            )
            rows.append(
                f"| export {fmt}, HTTP, {store_name} | {rate:,.0f} rows/s ({m['seconds']:.1f} s) "
                f"| server CPU {cpu_rate:,.0f} rows/CPU-s; RSS peak {m['rss_peak'] / 2**20:.0f} MiB; "
                f"{m['bytes'] / 2**20:.0f} MiB; load {load:.1f}, calibration {cal:.2f} s |"
            )
        hwm = proc_status(pid, "VmHWM")
        rows.append(
            f"| server peak resident memory (VmHWM, whole run) | {hwm / 2**20:.0f} MiB | idle {idle_rss / 2**20:.0f} MiB |"
        )
        server.stop()
        server = None

        if jsonl_file.exists():
            imp = [
                "import",
                "feedback",
                str(jsonl_file),
                "--account",
                sid,
                "--assistant",
                target_id,
                "--json",
            ]
            for label in ("import", "import again (every row present)"):
                cal = calibration()
                load = os.getloadavg()[0]
                wall, cpu, out = run_cli(imp, env)
                report = json.loads(out)
                print(
                    f"{label}: {wall:.1f} s, {n_rows / wall:,.0f} rows/s; CPU {cpu:.1f} s; {report['imported']} imported, {report['already_present']} present"
                )
                rows.append(
                    f"| {label}, CLI, {store_name} | {n_rows / wall:,.0f} rows/s ({wall:.1f} s) "
                    f"| {n_rows / cpu:,.0f} rows/CPU-s (the CLI and its parsing process; the database's own work counts only on SQLite); "
                    f"imported {report['imported']:,}, present {report['already_present']:,}; load {load:.1f}, calibration {cal:.2f} s |"
                )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    table = "\n".join(["| measurement | figure | detail |", "| --- | --- | --- |", *rows])
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report_md = (
        f"Measured {stamp} on {os.cpu_count()} cores, {store_name}, {n_rows:,} rows\n\n{table}\n"
    )
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    name = "exports-postgresql.md" if store_name == "PostgreSQL" else "exports.md"
    (ROOT / "bench" / "results" / name).write_text(report_md)
    return report_md


if __name__ == "__main__":
    main()
