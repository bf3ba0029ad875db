"""thumbs benchmarks for analytics: summaries and series at size, and the cost of keeping
the rollups true on the create path.

Run from the repository root:

    .venv/bin/python bench/analytics.py --only queries --rows 1000000
    .venv/bin/python bench/analytics.py --only queries --rows 10000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/analytics.py --only create      # needs wrk

queries: one account, one assistant with ``--rows`` feedback rows over 180 days and a second
with a tenth of that, written by one SQL statement (a recursive CTE on SQLite,
generate_series on PostgreSQL), then the rollups built by ``rollups.rebuild`` (the code
migration 0006 runs). Each query is timed in-process through the service (server-side:
what a request spends in analytics) and end to end over HTTP against ``thumbs serve``.

create: the create benchmark of bench/run.py against two servers at once, round by round
interleaved: thumbs as it is, and thumbs without rollups (the per-batch upsert patched out
and the two indexes of migration 0006 dropped), so the ratio is the price of analytics on
the hot path. Both write their batches on the event loop (``THUMBS_WRITER_MODE=inline``):
the patch reaches the server's own process, not a writer process. The results are printed
and written to bench/results/analytics.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from run import (
    BENCH,
    PY,
    THUMBS,
    Proc,
    basic,
    fmt,
    free_port,
    server_cpu_seconds,
    setup,
    wait_up,
    wrk,
)

SPAN_DAYS = 180
END = datetime(2026, 11, 1)
START = END - timedelta(days=SPAN_DAYS)

# -- filling the store ---------------------------------------------------------------------

_SQLITE_FILL = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1),
raw AS (
  SELECT i, (abs(random()) % 11) / 10.0 AS score, abs(random()) % 100 AS r,
         abs(random()) % 259200 AS wait,
         strftime('%Y-%m-%d %H:%M:%f', :start, '+' || (i * :span / :n) || ' seconds') || '000'
           AS created
  FROM seq
)
INSERT INTO feedbacks (id, account_pk, assistant_pk, session_id, message_id, score, text,
                       channel, feedback_type, reason, status, reviewed_at, date_created,
                       date_updated)
SELECT :prefix || i, :account, :assistant, 's' || (i % 50000), NULL, score,
       CASE WHEN r % 3 = 0 THEN 'too long' ELSE NULL END,
       CASE WHEN r < 90 THEN 'api' ELSE 'thumbs' END,
       CASE WHEN r % 20 = 7 THEN NULL WHEN score >= 0.5 THEN 'positive' ELSE 'negative' END,
       CASE WHEN r % 5 = 0 THEN 'wrong answer' ELSE NULL END,
       CASE WHEN r < 60 THEN 'pending' WHEN r < 85 THEN 'auto_approved'
            WHEN r < 95 THEN 'reviewed' ELSE 'dismissed' END,
       CASE WHEN r >= 85
            THEN strftime('%Y-%m-%d %H:%M:%f', created, '+' || wait || ' seconds') || '000'
       END,
       created, created
FROM raw
"""

_PG_FILL = """
INSERT INTO feedbacks (id, account_pk, assistant_pk, session_id, message_id, score, text,
                       channel, feedback_type, reason, status, reviewed_at, date_created,
                       date_updated)
SELECT :prefix || i, :account, :assistant, 's' || (i % 50000), NULL, score,
       CASE WHEN r % 3 = 0 THEN 'too long' END,
       CASE WHEN r < 90 THEN 'api' ELSE 'thumbs' END,
       CASE WHEN r % 20 = 7 THEN NULL WHEN score >= 0.5 THEN 'positive' ELSE 'negative' END,
       CASE WHEN r % 5 = 0 THEN 'wrong answer' END,
       CASE WHEN r < 60 THEN 'pending' WHEN r < 85 THEN 'auto_approved'
            WHEN r < 95 THEN 'reviewed' ELSE 'dismissed' END,
       CASE WHEN r >= 85 THEN created + wait * interval '1 second' END,
       created, created
FROM (
  SELECT i, floor(random() * 11) / 10.0 AS score, floor(random() * 100)::int AS r,
         floor(random() * 259200)::int AS wait,
         CAST(:start AS timestamp) + (i::float8 * :span / :n) * interval '1 second' AS created
  FROM generate_series(0, :n - 1) AS i
) AS raw
"""


def fill(url: str, rows: int) -> dict[str, Any]:
    """An account with two assistants: ``rows`` feedback rows for the first, a tenth for the
    second, then the rollups rebuilt from them."""
    from sqlalchemy import text

    from thumbs.auth import service as auth
    from thumbs.kit import ids
    from thumbs.store import migrate, rollups
    from thumbs.store.engine import Store
    from thumbs.store.models import Assistant

    migrate.upgrade(url)
    store = Store(url)
    try:
        with store.session() as db:
            acc = auth.create_account(db, name="analytics-bench")
            made = []
            for name in ("big", "small"):
                a = Assistant(
                    id=ids.new_id(ids.ASSISTANT),
                    account_pk=acc.account.pk,
                    name=name,
                    customer_ai={},
                )
                db.add(a)
                db.flush()
                made.append((a.pk, a.id))
        sql = _SQLITE_FILL if store.sqlite else _PG_FILL
        t0 = time.monotonic()
        for (pk, _), n, prefix in ((made[0], rows, "b"), (made[1], rows // 10, "s")):
            with store.engine.begin() as conn:
                conn.execute(
                    text(sql),
                    {
                        "n": n,
                        "span": SPAN_DAYS * 86400,
                        "start": START.isoformat(sep=" "),
                        "prefix": f"aia_fdbk_bench_{acc.account.pk}_{prefix}",
                        "account": acc.account.pk,
                        "assistant": pk,
                    },
                )
        filled = time.monotonic() - t0
        t0 = time.monotonic()
        with store.engine.begin() as conn:
            rollups.rebuild(conn, account_pk=acc.account.pk)
        built = time.monotonic() - t0
        if not store.sqlite:
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        else:
            with store.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    finally:
        store.dispose()
    return {
        "account_pk": acc.account.pk,
        "account_sid": acc.account.sid,
        "token": acc.auth_token,
        "assistant_pk": made[0][0],
        "assistant_id": made[0][1],
        "fill_s": filled,
        "rollups_s": built,
    }


# -- the queries ---------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """Median and p90 wall time, and median CPU time of this process, in ms."""
    fn()  # warm
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1], statistics.median(cpu)


def bench_queries(args: argparse.Namespace, env: dict[str, str], out: list[str]) -> None:
    from thumbs.analytics import service
    from thumbs.config import get_settings
    from thumbs.feedback.filters import FeedbackFilter
    from thumbs.store.engine import Store

    os.environ.update(env)
    get_settings.cache_clear()
    url = get_settings().effective_database_url
    t0 = time.monotonic()
    made = fill(url, args.rows)
    total = args.rows + args.rows // 10
    print(
        f"filled {total:,} rows in {made['fill_s']:.0f} s, rollups built in "
        f"{made['rollups_s']:.1f} s ({time.monotonic() - t0:.0f} s in all)"
    )
    account, assistant = made["account_pk"], made["assistant_pk"]
    one = FeedbackFilter(account_pk=account, assistant_pk=assistant)
    last90 = one.narrowed(created_after=END - timedelta(days=90), created_before=END)
    odd = one.narrowed(
        created_after=START + timedelta(days=3, minutes=17),
        created_before=END - timedelta(days=2, minutes=41),
    )
    cases: list[tuple[str, Callable[[Any], Any], str]] = [
        ("assistant summary, all time", lambda s: service.summary(s, flt=one), "Summary"),
        (
            "assistant summary, range with minute edges",
            lambda s: service.summary(s, flt=odd),
            "Summary",
        ),
        (
            "account summary, all time",
            lambda s: service.summary(s, flt=FeedbackFilter(account_pk=account)),
            "Summary",
        ),
    ]
    for zone in ("UTC", "Europe/Berlin", "Asia/Kolkata"):
        cases.append(
            (
                f"assistant 90-day daily series, {zone}",
                lambda s, z=zone: service.series(s, flt=last90, interval="day", time_zone=z),
                f"Series&Interval=day&TimeZone={zone}",
            )
        )
    store = Store(url)
    results = []
    try:
        with store.sessions() as session:
            found = service.summary(session, flt=one)
            assert found.totals.count == args.rows, found.totals.count
            for name, call, _ in cases:
                med, p90, cpu = timed(lambda c=call: c(session), args.repeats)
                results.append((name, med, p90, cpu))
                print(
                    f"{name}: median {med:.2f} ms, p90 {p90:.2f} ms, CPU {cpu:.2f} ms (server-side)"
                )
    finally:
        store.dispose()
    # end to end over HTTP
    port = free_port()
    server = Proc([*THUMBS, "serve", "--port", str(port)], env)
    http: dict[str, float] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/openapi.json")
        auth = (made["account_sid"], made["token"])
        since = (END - timedelta(days=90)).isoformat() + "Z"
        with httpx.Client(base_url=base, auth=auth, timeout=60) as client:
            for name, _, path in cases:
                query = f"/v1/Analytics/{path.split('&')[0]}?AssistantId={made['assistant_id']}"
                if "&" in path:
                    query += "&" + path.split("&", 1)[1]
                if "90-day" in name:
                    query += f"&DateCreatedAfter={since}&DateCreatedBefore={END.isoformat()}Z"
                if name.startswith("account"):
                    query = "/v1/Analytics/Summary"
                if "minute edges" in name:
                    continue
                med, _, _ = timed(lambda q=query: client.get(q).raise_for_status(), args.repeats)
                http[name] = med
            # the floor: an authenticated GET that reads one row
            floor = f"/v1/Assistants/{made['assistant_id']}"
            http["floor"] = timed(lambda: client.get(floor).raise_for_status(), args.repeats)[0]
    finally:
        server.stop()
    engine = "PostgreSQL" if "postgres" in url else "SQLite"
    cpu_said = "" if "postgres" in url else ", CPU {:.2f} ms"
    for name, med, p90, cpu in results:
        end_to_end = f"; HTTP p50 {http[name]:.1f} ms" if name in http else ""
        out.append(
            f"| {name} ({engine}, {args.rows:,} + {args.rows // 10:,} rows) | "
            f"{med:.2f} ms (p90 {p90:.2f}{cpu_said.format(cpu)}) | server-side{end_to_end} |"
        )
    out.append(
        f"| reference: GET /v1/Assistants/{{id}} ({engine}) | HTTP p50 {http['floor']:.1f} ms | "
        "the floor of an authenticated request |"
    )


# -- create with and without rollups ---------------------------------------------------------


def bench_create(args: argparse.Namespace, env: dict[str, str], out: list[str]) -> None:
    from sqlalchemy import create_engine, text

    before_env = {**env, "THUMBS_DATA_DIR": tempfile.mkdtemp(prefix="thumbs-bench-before-")}
    sid, token = setup(env)
    sid_b, token_b = setup(before_env)
    # "before": the indexes of migration 0006 dropped (the rollup tables stay, unused)
    engine = create_engine(f"sqlite:///{before_env['THUMBS_DATA_DIR']}/thumbs.db")
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_feedbacks_assistant_pk_date_created"))
        conn.execute(text("DROP INDEX ix_feedbacks_user_pk_date_created"))
    engine.dispose()
    port, port_b = free_port(), free_port()
    # both inline: without_rollups.py patches its own process, which a writer process is not
    inline = {"THUMBS_LOG_LEVEL": "info", "THUMBS_WRITER_MODE": "inline"}
    after = Proc([*THUMBS, "serve", "--port", str(port)], {**env, **inline})
    before = Proc(
        [PY, str(BENCH / "without_rollups.py"), "--port", str(port_b)], {**before_env, **inline}
    )
    try:
        urls = {"after": f"http://127.0.0.1:{port}", "before": f"http://127.0.0.1:{port_b}"}
        creds = {"after": (sid, token), "before": (sid_b, token_b)}
        wenv = {}
        for key, url in urls.items():
            wait_up(url + "/openapi.json")
            res = httpx.post(url + "/v1/Assistants", json={"name": "bench"}, auth=creds[key])
            res.raise_for_status()
            wenv[key] = {
                "THUMBS_BENCH_AUTH": basic(*creds[key]),
                "THUMBS_BENCH_PATH": f"/v1/Assistants/{res.json()['id']}/Feedbacks",
            }
            wrk(url, "post_feedback.lua", wenv[key], seconds=2, connections=args.connections)
        rounds = []
        cpu: dict[str, list[float]] = {"before": [], "after": []}
        pids = {"before": before.p.pid, "after": after.p.pid}
        for i in range(args.rounds):
            # alternate which goes first, so neither always gets the quieter moment
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            got = {}
            for key in order:
                used = server_cpu_seconds(pids[key])
                got[key] = wrk(
                    urls[key],
                    "post_feedback.lua",
                    wenv[key],
                    seconds=args.seconds,
                    connections=args.connections,
                )
                # the server's own CPU per create: steady under load from other processes
                cpu[key].append((server_cpu_seconds(pids[key]) - used) * 1e6 / got[key].requests)
            rounds.append(got)
            print(
                f"round {i + 1}: before {fmt(got['before'])} {cpu['before'][-1]:.0f} us CPU/req"
                f" | after {fmt(got['after'])} {cpu['after'][-1]:.0f} us CPU/req | after/before "
                f"{got['after'].rps / got['before'].rps:.3f} (throughput), "
                f"{cpu['after'][-1] / cpu['before'][-1]:.3f} (CPU per request)"
            )
        stats_after = httpx.get(urls["after"] + "/v1/Analytics/Summary", auth=creds["after"]).json()
    finally:
        log = after.stop()
        before.stop()
    for line in log.splitlines():
        if "writer:" in line:
            print("after:", line.strip())
    ratios = [r["after"].rps / r["before"].rps for r in rounds]
    acknowledged = sum(r["after"].requests for r in rounds)
    print(f"rollups count {stats_after['count']:,} >= acknowledged {acknowledged:,}")
    assert stats_after["count"] >= acknowledged
    best_b = max((r["before"] for r in rounds), key=lambda r: r.rps)
    best_a = max((r["after"] for r in rounds), key=lambda r: r.rps)
    out.append(
        f"| create, without rollups (before) | {best_b.rps:,.0f} req/s | p99 {best_b.p99_ms:.1f} ms |"
    )
    out.append(
        f"| create, with rollups (after) | {best_a.rps:,.0f} req/s | p99 {best_a.p99_ms:.1f} ms |"
    )
    out.append(
        f"| create after/before throughput, per round | {', '.join(f'{r:.3f}' for r in ratios)} | "
        f"median {statistics.median(ratios):.3f} |"
    )
    per = [a / b for a, b in zip(cpu["after"], cpu["before"], strict=True)]
    out.append(
        f"| create server CPU per request, before / after | "
        f"{statistics.median(cpu['before']):.0f} / {statistics.median(cpu['after']):.0f} us | "
        f"after/before per round {', '.join(f'{r:.3f}' for r in per)}, "
        f"median {statistics.median(per):.3f} |"
    )
    shutil.rmtree(before_env["THUMBS_DATA_DIR"], ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", choices=["create", "queries"])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="thumbs-bench-analytics-")
    env = {"THUMBS_DATA_DIR": tmp, "THUMBS_LOG_LEVEL": "warning"}
    if args.database_url:
        env["THUMBS_DATABASE_URL"] = args.database_url
    out: list[str] = []
    try:
        if args.only in (None, "queries"):
            bench_queries(args, env, out)
        if args.only in (None, "create"):
            if args.database_url:
                sys.exit("the create comparison runs on SQLite (the default store)")
            bench_create(
                args, {**env, "THUMBS_DATA_DIR": tempfile.mkdtemp(prefix="thumbs-c-")}, out
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = "\n".join(["| measurement | figure | detail |", "| --- | --- | --- |", *out])
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = f"Measured {stamp} on {os.cpu_count()} cores\n\n{table}\n"
    print("\n" + report)
    (BENCH / "results").mkdir(exist_ok=True)
    with (BENCH / "results" / "analytics.md").open("a") as f:
        f.write(report + "\n")


if __name__ == "__main__":
    main()
