"""thumbs benchmarks: feedback create throughput, deep-page list cost, a mixed workload.

Run from the repository root (needs `wrk`: `apt-get install wrk`):

    .venv/bin/python bench/run.py                 # all three
    .venv/bin/python bench/run.py --only create   # or: --only list, --only mixed

Everything runs on loopback against a fresh data directory, SQLite by default; pass
`--database-url postgresql://...` to measure PostgreSQL instead. Each wrk run is bounded
in time. The results table is printed and written to bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
THUMBS = [PY, "-m", "thumbs.cli"]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int
    non2xx: int
    max_ms: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, script: str, env: dict[str, str], *, seconds: int, connections: int) -> WrkResult:
    return wrk_many([url], script, env, seconds=seconds, connections=connections)[0]


class Proc:
    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        # the log goes to a file: a pipe nobody reads during the run would stall the server
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
        self.p = subprocess.Popen(
            cmd,
            env={**os.environ, **env},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,
        )

    def stop(self) -> str:
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def setup(env: dict[str, str]) -> tuple[str, str]:
    out = subprocess.run(
        [*THUMBS, "accounts", "create", "--name", "bench", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    creds = json.loads(out.stdout)
    return creds["account_sid"], creds["auth_token"]


def basic(sid: str, token: str) -> str:
    return base64.b64encode(f"{sid}:{token}".encode()).decode()


def fmt(r: WrkResult) -> str:
    return f"{r.rps:8.0f} req/s  p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms"


def bench_create(args: argparse.Namespace, env: dict[str, str], rows: list[str]) -> None:
    sid, token = setup(env)
    port, base_port = free_port(), free_port()
    server = Proc(
        [*THUMBS, "serve", "--port", str(port), "--workers", str(args.workers)],
        {**env, "THUMBS_LOG_LEVEL": "info"},
    )
    log = ""
    baseline = Proc(
        [
            PY,
            "-m",
            "uvicorn",
            "baseline_app:app",
            "--port",
            str(base_port),
            "--workers",
            str(args.workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
            "--no-server-header",
        ],
        env,
        cwd=BENCH,
    )
    try:
        url, base_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}"
        wait_up(url + "/openapi.json")
        wait_up(base_url + "/openapi.json")
        res = httpx.post(url + "/v1/Assistants", json={"name": "bench"}, auth=(sid, token))
        res.raise_for_status()
        aid = res.json()["id"]
        path = f"/v1/Assistants/{aid}/Feedbacks"
        wenv = {"THUMBS_BENCH_AUTH": basic(sid, token), "THUMBS_BENCH_PATH": path}
        # warm up both
        wrk(url, "post_feedback.lua", wenv, seconds=2, connections=args.connections)
        wrk(base_url, "post_feedback.lua", wenv, seconds=2, connections=args.connections)
        ours: list[WrkResult] = []
        theirs: list[WrkResult] = []
        for _ in range(args.rounds):  # interleaved, so both see the same machine noise
            ours.append(
                wrk(
                    url,
                    "post_feedback.lua",
                    wenv,
                    seconds=args.seconds,
                    connections=args.connections,
                )
            )
            theirs.append(
                wrk(
                    base_url,
                    "post_feedback.lua",
                    wenv,
                    seconds=args.seconds,
                    connections=args.connections,
                )
            )
        idiom_env = {**wenv, "THUMBS_BENCH_PATH": f"/idiomatic/{aid}/Feedbacks"}
        idiomatic = wrk(
            base_url,
            "post_feedback.lua",
            idiom_env,
            seconds=args.seconds,
            connections=args.connections,
        )
        # every acknowledged create is in the store
        listed = httpx.get(url + path, params={"PageSize": 1}, auth=(sid, token)).json()
        assert listed["feedbacks"], "no feedback stored"
    finally:
        log = server.stop()
        baseline.stop()
    for line in log.splitlines():
        if "writer:" in line:
            print(line.strip())
    stored = count_rows(env)
    acknowledged = sum(r.requests for r in ours)
    bad = sum(r.errors + r.non2xx for r in ours)
    best = max(ours, key=lambda r: r.rps)
    ratios = [o.rps / t.rps for o, t in zip(ours, theirs, strict=True)]
    print("\n== create feedback (POST /v1/Assistants/{id}/Feedbacks) ==")
    for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        print(
            f"round {i + 1}: thumbs {fmt(o)} | no-db baseline {fmt(t)} | ratio {o.rps / t.rps:.2f}"
        )
    print(f"idiomatic FastAPI no-db endpoint: {fmt(idiomatic)}")
    print(
        f"errors/non-2xx during thumbs runs: {bad}; rows stored {stored} "
        f">= acknowledged in measured runs {acknowledged}"
    )
    engine = (
        "PostgreSQL, group commit"
        if "postgres" in env.get("THUMBS_DATABASE_URL", "")
        else "SQLite, group commit, synchronous=FULL"
    )
    rows.append(
        f"| create, thumbs ({engine}) | {best.rps:,.0f} req/s "
        f"| p50 {best.p50_ms:.1f} ms, p99 {best.p99_ms:.1f} ms |"
    )
    bt = max(theirs, key=lambda r: r.rps)
    rows.append(
        f"| create, no-DB FastAPI baseline (same parsing) | {bt.rps:,.0f} req/s "
        f"| p50 {bt.p50_ms:.1f} ms, p99 {bt.p99_ms:.1f} ms |"
    )
    rows.append(
        f"| create, idiomatic FastAPI no-DB endpoint | {idiomatic.rps:,.0f} req/s "
        f"| p50 {idiomatic.p50_ms:.1f} ms, p99 {idiomatic.p99_ms:.1f} ms |"
    )
    rows.append(
        f"| thumbs / baseline, per round (same run) | "
        f"{', '.join(f'{r:.2f}' for r in ratios)} | median {statistics.median(ratios):.2f} |"
    )
    if stored < acknowledged:
        raise SystemExit("acknowledged writes are missing from the store")


def process_group(pid: int) -> Iterator[tuple[Path, list[str]]]:
    """Each process of a server's group (the server and its workers: servers start their
    own group), with the fields of its ``/proc/PID/stat`` after the command name."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pid:
                yield entry, fields
        except (OSError, IndexError, ValueError):
            continue


def rss_mib(pid: int) -> float:
    """Resident memory of a server: the process and every process in its group (workers)."""
    total = 0
    for entry, _ in process_group(pid):
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        m = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(m.group(1)) if m else 0
    return total / 1024


def wrk_many(
    urls: list[str], script: str, env: dict[str, str], *, seconds: int, connections: int
) -> list[WrkResult]:
    """One wrk per URL, all at the same time, the connections split between them."""
    procs = []
    for k, url in enumerate(urls):
        cmd = [
            "wrk",
            "-t2",
            f"-c{connections // len(urls)}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(BENCH / script),
            url,
        ]
        wenv = {
            **os.environ,
            **env,
            "THUMBS_BENCH_DIR": str(BENCH),
            "THUMBS_BENCH_SLICE": f"{k}/{len(urls)}",
        }
        procs.append(subprocess.Popen(cmd, env=wenv, stdout=subprocess.PIPE, text=True))
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        if p.returncode:
            raise RuntimeError(f"wrk failed:\n{out}")
        m = re.search(r"RESULT (.*)", out)
        if not m:
            raise RuntimeError(f"wrk printed no RESULT line:\n{out}")
        f = dict(kv.split("=") for kv in m.group(1).split())
        dur = int(f["duration_us"]) / 1e6
        results.append(
            WrkResult(
                rps=int(f["requests"]) / dur,
                p50_ms=int(f["p50_us"]) / 1e3,
                p90_ms=int(f["p90_us"]) / 1e3,
                p99_ms=int(f["p99_us"]) / 1e3,
                requests=int(f["requests"]),
                errors=int(f["errors"]),
                non2xx=int(f["non2xx"]),
                max_ms=int(f["max_us"]) / 1e3,
            )
        )
    return results


def bench_mixed(args: argparse.Namespace, env: dict[str, str], rows: list[str]) -> None:
    """70% creates, 20% list pages, 5% thumbs, 5% review decisions, at --mixed-connections
    for --mixed-seconds, against --servers server processes on one database."""
    data = Path(tempfile.mkdtemp(prefix="thumbs-bench-mixed-")) / "data.txt"
    decisions = (args.mixed_seconds + 10) * 300  # more than 5% of what the run can send
    subprocess.run(
        [*THUMBS, "db", "upgrade"], env={**os.environ, **env}, check=True, capture_output=True
    )
    out = subprocess.run(
        [PY, str(BENCH / "seed_mixed.py"), str(data), str(decisions)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    creds = json.loads(out.stdout.strip().splitlines()[-1])
    wenv = {
        "THUMBS_BENCH_AUTH": basic(creds["account_sid"], creds["auth_token"]),
        "THUMBS_BENCH_DATA": str(data),
    }
    ports = [free_port() for _ in range(args.servers)]
    servers = [
        Proc([*THUMBS, "serve", "--port", str(port), "--workers", str(args.workers)], env)
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in urls:
            wait_up(url + "/healthz")
        started = [rss_mib(s.p.pid) for s in servers]
        # the warm-up decides nothing: each seeded decision is left for the measured run
        warm_data = data.with_name("warm.txt")
        warm_data.write_text("".join(line for line in data.open() if not line.startswith("D ")))
        warm = wrk_many(
            urls,
            "mixed.lua",
            {**wenv, "THUMBS_BENCH_DATA": str(warm_data)},
            seconds=5,
            connections=args.mixed_connections,
        )
        warmed = [rss_mib(s.p.pid) for s in servers]
        runs = wrk_many(
            urls,
            "mixed.lua",
            wenv,
            seconds=args.mixed_seconds,
            connections=args.mixed_connections,
        )
        ended = [rss_mib(s.p.pid) for s in servers]
    finally:
        logs = [s.stop() for s in servers]
    shutil.rmtree(data.parent, ignore_errors=True)
    for line in sorted(
        {ln for log in logs for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln}
    ):
        print(line[:300])
    total = sum(r.requests for r in runs)
    rps = sum(r.rps for r in runs)
    bad = sum(r.errors + r.non2xx for r in runs + warm)
    engine = "PostgreSQL" if "postgres" in env.get("THUMBS_DATABASE_URL", "") else "SQLite"
    print(f"\n== mixed workload, {engine}, {args.servers} server process(es) ==")
    for i, r in enumerate(runs):
        print(
            f"wrk {i + 1}: {fmt(r)}  max {r.max_ms:.0f} ms  requests {r.requests}  "
            f"socket errors/timeouts {r.errors}, non-2xx {r.non2xx}"
        )
    memory = ", ".join(
        f"{a:.0f} → {b:.0f} → {c:.0f} MiB" for a, b, c in zip(started, warmed, ended, strict=True)
    )
    print(
        f"total {rps:,.0f} req/s, {total} requests, errors {bad}; RSS start → warm → end: {memory}"
    )
    p50 = max(r.p50_ms for r in runs)
    p99 = max(r.p99_ms for r in runs)
    rows.append(
        f"| mixed 70/20/5/5, {engine}, {args.servers} server(s), {args.mixed_connections} "
        f"connections, {args.mixed_seconds} s | {rps:,.0f} req/s, errors {bad} "
        f"| p50 {p50:.1f} ms, p99 {p99:.1f} ms; RSS start → warm → end {memory} |"
    )
    if bad:
        raise SystemExit(f"the mixed workload had {bad} errors")


def count_rows(env: dict[str, str]) -> int:
    code = (
        "from sqlalchemy import func, select\n"
        "from thumbs.config import get_settings\nfrom thumbs.store.engine import Store\n"
        "from thumbs.store.models import Feedback\n"
        "s = Store(get_settings().effective_database_url)\n"
        "with s.sessions() as db: print(db.scalar(select(func.count()).select_from(Feedback)))"
    )
    out = subprocess.run(
        [PY, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def fill(env: dict[str, str], n: int) -> tuple[str, str, str, int]:
    """Create an account and assistant with ``n`` feedback rows; returns credentials,
    assistant id and the key of the row that starts the last page of 50."""
    code = f"""
import json, sys
from datetime import timedelta
from sqlalchemy import insert, select
from thumbs.auth import service as auth
from thumbs.config import get_settings
from thumbs.kit import ids
from thumbs.kit.timefmt import utcnow
from thumbs.store.engine import Store
from thumbs.store.models import Assistant, Feedback
from thumbs.store import migrate
s = Store(get_settings().effective_database_url)
migrate.upgrade(s.url)
with s.session() as db:
    acc = auth.create_account(db, name="list-bench")
    a = Assistant(id=ids.new_id(ids.ASSISTANT), account_pk=acc.account.pk, name="big",
                  customer_ai={{}})
    db.add(a); db.flush()
    apk, aid, sid, tok = a.pk, a.id, acc.account.sid, acc.auth_token
start = utcnow() - timedelta(days=30)
batch = []
with s.engine.begin() as conn:
    for i in range({n}):
        t = start + timedelta(seconds=i)
        batch.append(dict(id=ids.new_id(ids.FEEDBACK), account_pk=acc.account.pk,
            assistant_pk=apk, session_id=f"s{{i % 5000}}", message_id=None, score=(i % 11) / 10,
            text="bench", channel="api", status="pending", date_created=t, date_updated=t))
        if len(batch) == 20000:
            conn.execute(insert(Feedback), batch); batch.clear()
    if batch:
        conn.execute(insert(Feedback), batch)
if s.engine.dialect.name == "postgresql":  # statistics now, as autovacuum would later
    with s.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE feedbacks"); conn.commit()
with s.sessions() as db:
    keys = db.scalars(select(Feedback.pk).where(Feedback.assistant_pk == apk)
                      .order_by(Feedback.pk.asc()).limit(51)).all()
print(json.dumps([sid, tok, aid, keys[-1]]))
"""
    out = subprocess.run(
        [PY, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    sid, tok, aid, key = json.loads(out.stdout.strip().splitlines()[-1])
    return sid, tok, aid, int(key)


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a server: the process and every process in its group."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in process_group(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class ListRun:
    wrk: WrkResult
    cpu_ms: float  # the server's CPU per page


def list_run(server: Proc, url: str, wenv: dict[str, str], args: argparse.Namespace) -> ListRun:
    before = server_cpu_seconds(server.p.pid)
    r = wrk(url, "get_page.lua", wenv, seconds=args.seconds, connections=args.connections)
    spent = server_cpu_seconds(server.p.pid) - before
    return ListRun(r, spent / max(r.requests, 1) * 1e3)


def bench_list(args: argparse.Namespace, env: dict[str, str], rows: list[str]) -> None:
    """The first page against the last page of a big assistant, at --connections; with
    --compare, the same pages served by another checkout on the same database, measured
    round by round, interleaved."""
    from thumbs.kit.paging import Cursor, encode_token, scope_for

    t0 = time.monotonic()
    sid, tok, aid, last_key = fill(env, args.rows)
    print(f"\nfilled {args.rows:,} rows in {time.monotonic() - t0:.0f} s")
    builds = {"this": ROOT}
    if args.compare:
        builds["compared"] = Path(args.compare).resolve()
    servers: dict[str, tuple[Proc, str]] = {}
    auth = (sid, tok)
    wenv = {"THUMBS_BENCH_AUTH": basic(sid, tok)}
    path = f"/v1/Assistants/{aid}/Feedbacks"
    token = encode_token(Cursor(last_key, forward=True), scope_for(path, []))
    pages = {
        "first": f"{path}?PageSize=50",
        "last": f"{path}?PageSize=50&Page=19999&PageToken={token}",
    }
    runs: dict[tuple[str, str], list[ListRun]] = {(b, p): [] for b in builds for p in pages}
    loads: list[str] = []
    try:
        for name, root in builds.items():
            port = free_port()
            python = root / ".venv" / "bin" / "python"
            cmd = [str(python) if python.exists() else PY, "-m", "thumbs.cli", "serve"]
            proc = Proc([*cmd, "--port", str(port), "--workers", str(args.workers)], env, cwd=root)
            servers[name] = (proc, f"http://127.0.0.1:{port}")
        bodies = {}
        for name, (_, url) in servers.items():
            wait_up(url + "/openapi.json")
            page = httpx.get(url + pages["last"], auth=auth)
            meta = page.json()["meta"]
            assert len(page.json()["feedbacks"]) == 50 and meta["next_page_url"] is None, meta
            text = httpx.get(url + pages["first"], auth=auth).text
            bodies[name] = text.replace(url, "")  # the same but for the server's port
            wrk(url + pages["first"], "get_page.lua", wenv, seconds=2, connections=args.connections)
        if len(bodies) > 1:  # the same answer from both builds (but for the port in its urls)
            a, b = bodies.values()
            assert a == b, "the two builds answer the first page differently"
        for _ in range(args.rounds):
            loads.append(load_average())
            for name, (proc, url) in servers.items():
                for p, target in pages.items():
                    runs[(name, p)].append(list_run(proc, url + target, wenv, args))
    finally:
        for proc, _ in servers.values():
            proc.stop()
    print(
        f"\n== list: a page of 50, first and last of {args.rows:,} rows, "
        f"{args.connections} connections =="
    )
    print(f"load average (1, 5, 15 min) at each round: {'; '.join(loads)}")
    for i in range(args.rounds):
        line = []
        for name in builds:
            f, la = runs[(name, "first")][i], runs[(name, "last")][i]
            line.append(
                f"{name}: first {f.wrk.rps:6.0f} req/s {f.cpu_ms:.2f} ms CPU | "
                f"last {la.wrk.rps:6.0f} req/s {la.cpu_ms:.2f} ms CPU"
            )
        print(f"round {i + 1}: " + " || ".join(line))
    for name in builds:
        for p in pages:
            rs = runs[(name, p)]
            rps = statistics.median(r.wrk.rps for r in rs)
            p50 = statistics.median(r.wrk.p50_ms for r in rs)
            cpu = statistics.median(r.cpu_ms for r in rs)
            bad = sum(r.wrk.errors + r.wrk.non2xx for r in rs)
            rows.append(
                f"| list ({name}), {p} page of 50 of {args.rows:,} rows | {rps:,.0f} req/s, "
                f"{cpu:.2f} ms server CPU per page | p50 {p50:.2f} ms, errors {bad} |"
            )
        first = runs[(name, "first")]
        last = runs[(name, "last")]
        rows.append(
            f"| list ({name}), last/first cost | "
            f"{statistics.median(la.cpu_ms / f.cpu_ms for f, la in zip(first, last, strict=True)):.2f}x (CPU per page) | "
            f"{statistics.median(f.wrk.rps / la.wrk.rps for f, la in zip(first, last, strict=True)):.2f}x (1/throughput) |"
        )
    rows.append(f"| list, load average during the rounds | {'; '.join(loads)} | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", choices=["create", "list", "mixed"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument(
        "--compare",
        metavar="CHECKOUT",
        help="list: also serve the pages from this checkout (its .venv) on the same "
        "database, round by round, interleaved",
    )
    ap.add_argument("--servers", type=int, default=1, help="server processes (mixed)")
    ap.add_argument("--mixed-seconds", type=int, default=60)
    ap.add_argument("--mixed-connections", type=int, default=64)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = tempfile.mkdtemp(prefix="thumbs-bench-")
    env = {"THUMBS_DATA_DIR": tmp, "THUMBS_LOG_LEVEL": "warning"}
    if args.database_url:
        env["THUMBS_DATABASE_URL"] = args.database_url
    rows: list[str] = []
    try:
        if args.only in (None, "create"):
            bench_create(args, env, rows)
        if args.only in (None, "list"):
            if args.database_url is None:
                env = {**env, "THUMBS_DATA_DIR": tempfile.mkdtemp(prefix="thumbs-bench-list-")}
            bench_list(args, env, rows)
        if args.only in (None, "mixed"):
            if args.database_url is None:
                env = {**env, "THUMBS_DATA_DIR": tempfile.mkdtemp(prefix="thumbs-bench-mixed-")}
            bench_mixed(args, env, rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = "\n".join(["| measurement | figure | detail |", "| --- | --- | --- |", *rows])
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = (
        f"Measured {stamp} on {os.cpu_count()} cores, workers={args.workers}, "
        f"{args.connections} connections\n\n{table}\n"
    )
    print("\n" + report)
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "latest.md").write_text(report)


if __name__ == "__main__":
    main()
