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
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    timeouts: int = 0  # of the errors: requests unanswered within wrk's --timeout


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


def setup(env: dict[str, str], thumbs: list[str] = THUMBS, cwd: Path = ROOT) -> tuple[str, str]:
    out = subprocess.run(
        [*thumbs, "accounts", "create", "--name", "bench", "--json"],
        env={**os.environ, **env},
        cwd=cwd,
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


ACCOUNTS = 2  # the realistic create load: accounts, assistants per account, logged turns
ASSISTANTS_PER_ACCOUNT = 2
TURNS_PER_ASSISTANT = 250


@dataclass
class Server:
    """One thumbs under test in the create benchmark: this checkout, or (``--compare``) an
    earlier one, each with its own store, seeded alike."""

    name: str
    proc: Proc
    url: str
    env: dict[str, str]
    data: Path  # the file create.lua reads
    sids: list[str]  # the accounts of the realistic load
    const_env: dict[str, str]  # post_feedback.lua's (its own account)
    const_sid: str
    runs: list[WrkResult]
    cpu_us: list[float]  # the server's CPU time per request, per round


def start_server(
    name: str, root: Path, env: dict[str, str], args: argparse.Namespace, data: Path
) -> Server:
    """Start ``thumbs serve`` from the checkout at ``root`` (its own virtualenv when it
    has one) and seed it through the API: ``ACCOUNTS`` accounts of
    ``ASSISTANTS_PER_ACCOUNT`` assistants, ``TURNS_PER_ASSISTANT`` turns logged on each
    (their replies are what half of the load rates), and one more account for the
    constant body."""
    python = root / ".venv" / "bin" / "python"
    cmd = [str(python) if python.exists() else PY, "-m", "thumbs.cli"]
    port = free_port()
    proc = Proc(
        [*cmd, "serve", "--port", str(port), "--workers", str(args.workers)],
        {**env, "THUMBS_LOG_LEVEL": "info"},
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/healthz")
    lines: list[str] = []
    sids: list[str] = []
    assistants: list[tuple[tuple[str, str], str]] = []
    for k in range(ACCOUNTS + 1):
        sid, token = setup(env, cmd, root)
        if k == ACCOUNTS:
            const = (sid, token)
            break
        sids.append(sid)
        lines.append(f"K {k + 1} {basic(sid, token)}")
        for a in range(ASSISTANTS_PER_ACCOUNT):
            res = httpx.post(
                url + "/v1/Assistants", json={"name": f"assistant {a}"}, auth=(sid, token)
            )
            res.raise_for_status()
            assistants.append(((sid, token), res.json()["id"]))
            lines.append(f"A {k + 1} {res.json()['id']}")
    with httpx.Client(base_url=url, timeout=30) as client:
        for n, (auth, aid) in enumerate(assistants):
            for t in range(TURNS_PER_ASSISTANT):
                res = client.post(
                    f"/v1/Assistants/{aid}/Turns",
                    json={
                        "session_id": f"conv-{n}-{t}",
                        "identity": f"user-{t * 17 % 5000 + 1}",
                        "body": "Where is my order?",
                        "reply": "It left the warehouse yesterday; the tracking link is in "
                        "your confirmation email.",
                    },
                    auth=auth,
                )
                if res.status_code != 201:
                    raise RuntimeError(f"logging a turn failed: {res.text}")
                lines.append(f"M {n + 1} {res.json()['messages'][-1]['id']}")
    data.write_text("\n".join(lines) + "\n")
    res = httpx.post(url + "/v1/Assistants", json={"name": "constant"}, auth=const)
    res.raise_for_status()
    const_env = {
        "THUMBS_BENCH_AUTH": basic(*const),
        "THUMBS_BENCH_PATH": f"/v1/Assistants/{res.json()['id']}/Feedbacks",
    }
    return Server(name, proc, url, env, data, sids, const_env, const[0], [], [])


def measure(
    server: Server, script: str, env: dict[str, str], args: argparse.Namespace
) -> tuple[WrkResult, float]:
    """One wrk run, and the server's own CPU time per request (steady under load from
    other processes, where wall-clock figures are not)."""
    used = server_cpu_seconds(server.proc.p.pid)
    got = wrk(server.url, script, env, seconds=args.seconds, connections=args.connections)
    return got, (server_cpu_seconds(server.proc.p.pid) - used) * 1e6 / max(got.requests, 1)


def bench_create(args: argparse.Namespace, env: dict[str, str], rows: list[str]) -> None:
    """The realistic load (create.lua) against this checkout's thumbs, ``--compare``'s if
    given, and the no-DB baseline, interleaved round by round (the order turning each
    round); then the constant body (post_feedback.lua) once each; then the check that
    every acknowledged create is stored, linked to its logged reply and its end user."""
    work = Path(tempfile.mkdtemp(prefix="thumbs-bench-create-"))
    roots: list[tuple[str, Path, dict[str, str]]] = [("after", ROOT, {})]
    if args.writer_thread:  # the same code with its group commits on the writer thread
        roots.insert(0, ("after, writer thread", ROOT, {"THUMBS_WRITER_MODE": "thread"}))
    if args.writer_inline:  # the same code with its batches written on the event loop
        roots.insert(0, ("after, inline", ROOT, {"THUMBS_WRITER_MODE": "inline"}))
    if args.compare:
        roots.insert(0, ("before", Path(args.compare).resolve(), {}))
    servers: list[Server] = []
    base_port = free_port()
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
    logs: dict[str, str] = {}
    try:
        for k, (name, root, extra) in enumerate(roots):
            senv = {**env, **extra}
            if args.database_url is None:
                senv["THUMBS_DATA_DIR"] = str(work / f"server-{k}")
            servers.append(start_server(name, root, senv, args, work / f"server-{k}.txt"))
        base_url = f"http://127.0.0.1:{base_port}"
        wait_up(base_url + "/openapi.json")
        # the baseline receives exactly the requests this checkout's thumbs receives
        base_env = {"THUMBS_BENCH_DATA": str(servers[-1].data)}
        for s in servers:  # warm up
            wrk(
                s.url,
                "create.lua",
                {"THUMBS_BENCH_DATA": str(s.data)},
                seconds=2,
                connections=args.connections,
            )
        wrk(base_url, "create.lua", base_env, seconds=2, connections=args.connections)
        base_runs: list[WrkResult] = []
        for i in range(args.rounds):
            order: list[Server | None] = [*servers, None]
            k = i % len(order)
            for s in order[k:] + order[:k]:  # who goes first turns round by round
                if s is None:
                    base_runs.append(
                        wrk(
                            base_url,
                            "create.lua",
                            base_env,
                            seconds=args.seconds,
                            connections=args.connections,
                        )
                    )
                    continue
                got, cpu = measure(s, "create.lua", {"THUMBS_BENCH_DATA": str(s.data)}, args)
                s.runs.append(got)
                s.cpu_us.append(cpu)
            print(
                f"round {i + 1}: "
                + " | ".join(
                    f"{s.name} {fmt(s.runs[-1])} {s.cpu_us[-1]:4.0f} us CPU/req "
                    f"ratio {s.runs[-1].rps / base_runs[-1].rps:.2f}"
                    for s in servers
                )
                + f" | no-db baseline {fmt(base_runs[-1])}",
                flush=True,
            )
        const = []
        for s in servers:
            const.append(measure(s, "post_feedback.lua", s.const_env, args))
        base_const = wrk(
            base_url,
            "post_feedback.lua",
            servers[-1].const_env,
            seconds=args.seconds,
            connections=args.connections,
        )
        idiom_env = {
            **servers[-1].const_env,
            "THUMBS_BENCH_PATH": servers[-1]
            .const_env["THUMBS_BENCH_PATH"]
            .replace("/v1/Assistants/", "/idiomatic/"),
        }
        idiomatic = wrk(
            base_url,
            "post_feedback.lua",
            idiom_env,
            seconds=args.seconds,
            connections=args.connections,
        )
    finally:
        for s in servers:
            logs[s.name] = s.proc.stop()
        baseline.stop()
    load = os.getloadavg()
    for s in servers:
        for line in logs[s.name].splitlines():
            if "writer:" in line or "ERROR" in line:
                print(f"{s.name}: {line.strip()[:300]}")
    engine = (
        "PostgreSQL, group commit"
        if "postgres" in env.get("THUMBS_DATABASE_URL", "")
        else "SQLite, group commit, synchronous=FULL"
    )
    print("\n== create feedback (POST /v1/Assistants/{id}/Feedbacks), realistic load ==")
    problems: list[str] = []
    for s, (cgot, ccpu) in zip(servers, const, strict=True):
        ratios = [o.rps / t.rps for o, t in zip(s.runs, base_runs, strict=True)]
        best = max(s.runs, key=lambda r: r.rps)
        rows.append(
            f"| create, thumbs {s.name} ({engine}), realistic | {best.rps:,.0f} req/s "
            f"(best round), p50 {best.p50_ms:.1f} ms, p99 {best.p99_ms:.1f} ms "
            f"| {statistics.median(s.cpu_us):.0f} us server CPU/request (median) |"
        )
        rows.append(
            f"| {s.name} / baseline, per round (realistic) | "
            f"{', '.join(f'{r:.2f}' for r in ratios)} | median {statistics.median(ratios):.2f} |"
        )
        rows.append(
            f"| create, thumbs {s.name}, constant body | {cgot.rps:,.0f} req/s, "
            f"p99 {cgot.p99_ms:.1f} ms, {ccpu:.0f} us CPU/request "
            f"| ratio to the baseline {cgot.rps / base_const.rps:.2f} |"
        )
        stored = check_stored(s, [*s.runs, cgot])
        print(f"{s.name}: {stored}")
        problems += [f"{s.name}: {p}" for p in stored.get("problems", [])]
    bt = max(base_runs, key=lambda r: r.rps)
    rows.append(
        f"| create, no-DB FastAPI baseline (same parsing), realistic | {bt.rps:,.0f} req/s "
        f"(best round), p50 {bt.p50_ms:.1f} ms, p99 {bt.p99_ms:.1f} ms | |"
    )
    rows.append(
        f"| create, no-DB baseline, constant body | {base_const.rps:,.0f} req/s, "
        f"p99 {base_const.p99_ms:.1f} ms | |"
    )
    rows.append(
        f"| create, idiomatic FastAPI no-DB endpoint, constant body | {idiomatic.rps:,.0f} req/s "
        f"| p50 {idiomatic.p50_ms:.1f} ms, p99 {idiomatic.p99_ms:.1f} ms |"
    )
    rows.append(
        f"| load average after the create runs (1, 5, 15 min) | "
        f"{load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} | |"
    )
    shutil.rmtree(work, ignore_errors=True)
    if problems:
        raise SystemExit("; ".join(problems))


def check_stored(server: Server, runs: list[WrkResult]) -> dict[str, Any]:
    """Every acknowledged create is in the store: per account set, at least as many rows
    as 201s in the measured runs (the warm-up adds more), every realistic one with its end
    user, and about half linked to a logged reply."""
    code = (
        "import json, sys\n"
        "from sqlalchemy import func, select\n"
        "from thumbs.config import get_settings\nfrom thumbs.store.engine import Store\n"
        "from thumbs.store.models import Account, Feedback\n"
        "s = Store(get_settings().effective_database_url)\n"
        "def count(sids, *where):\n"
        "    q = select(func.count()).select_from(Feedback).join(\n"
        "        Account, Account.pk == Feedback.account_pk).where(Account.sid.in_(sids), *where)\n"
        "    with s.sessions() as db: return db.scalar(q)\n"
        "sids, const = json.loads(sys.argv[1])\n"
        "print(json.dumps({'rows': count(sids), 'with_user': count(sids, "
        "Feedback.user_pk.is_not(None)), 'linked': count(sids, Feedback.message_pk.is_not(None)),"
        " 'constant': count([const])}))"
    )
    out = subprocess.run(
        [PY, "-c", code, json.dumps([server.sids, server.const_sid])],
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        check=True,
    )
    got: dict[str, Any] = json.loads(out.stdout)
    realistic, constant = runs[:-1], runs[-1]
    acknowledged = sum(r.requests - r.non2xx for r in realistic)
    bad = sum(r.errors + r.non2xx for r in runs)
    problems = []
    if bad:
        problems.append(f"{bad} errors or non-2xx answers")
    if got["rows"] < acknowledged or got["constant"] < constant.requests - constant.non2xx:
        problems.append("acknowledged writes are missing from the store")
    if got["with_user"] != got["rows"]:
        problems.append("feedback without its end user")
    if not 0.4 * got["rows"] <= got["linked"] <= 0.6 * got["rows"]:
        problems.append("not about half of the feedback is linked to a logged reply")
    got["acknowledged"] = acknowledged
    got["problems"] = problems
    return got


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
            "THUMBS_BENCH_CONNECTIONS": str(connections // len(urls)),
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
                timeouts=int(f["timeouts"]),
            )
        )
    return results


# The mixed workload's memory is flat when a server's resident memory at the end exceeds
# what it held after the warm-up by at most this share of it (or by at most
# FLAT_FLOOR_MIB, for small processes): what remains is caches filling up, not a leak.
FLAT_TOLERANCE = 0.05
FLAT_FLOOR_MIB = 4.0


@dataclass
class Flatness:
    warmed: float  # MiB after the warm-up
    ended: float  # MiB at the end

    @property
    def grew(self) -> float:
        return self.ended - self.warmed

    @property
    def flat(self) -> bool:
        return self.grew <= max(FLAT_FLOOR_MIB, FLAT_TOLERANCE * self.warmed)

    def short(self) -> str:
        return f"{self.grew:+.0f} MiB, {self.grew / self.warmed:+.1%}: {'flat' if self.flat else 'GROWS'}"

    def describe(self) -> str:
        limit = max(FLAT_FLOOR_MIB, FLAT_TOLERANCE * self.warmed)
        return (
            f"RSS end - warm-up {self.short()} (flat: at most +{limit:.1f} MiB, "
            f"{FLAT_TOLERANCE:.0%} of the RSS after the warm-up)"
        )


class RssSampler:
    """The resident memory of each server every ``every`` seconds, on a thread of its own,
    while the ``with`` block runs: whether memory levels off, and when."""

    def __init__(self, pids: list[int], every: float) -> None:
        self.pids = pids
        self.every = every
        self.samples: list[list[float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append([rss_mib(pid) for pid in self.pids])

    def __enter__(self) -> RssSampler:
        if self.every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def mix_shares(value: str) -> str:
    """``--mix``: four whole percentages, creates/lists/thumbs/decisions, summing to 100."""
    parts = value.split("/")
    if len(parts) != 4 or not all(p.isdigit() for p in parts) or sum(map(int, parts)) != 100:
        raise argparse.ArgumentTypeError("four whole percentages summing to 100, as 70/20/5/5")
    return value


def bench_mixed(args: argparse.Namespace, env: dict[str, str], rows: list[str]) -> None:
    """70% creates, 20% list pages, 5% thumbs, 5% review decisions (or the shares of
    --mix), at --mixed-connections for --mixed-seconds, against --servers server processes
    on one database."""
    data = Path(tempfile.mkdtemp(prefix="thumbs-bench-mixed-")) / "data.txt"
    # more than 5% of what each run can send, the warm-up's and the measured run's
    warm_decisions = (args.mixed_warm_up + 10) * 300
    decisions = (args.mixed_seconds + 10) * 300 + warm_decisions
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
        "THUMBS_BENCH_MIX": args.mix,
    }
    # --mixed-rate: each wrk offers its share (the warm-up runs at full load)
    rate = {"THUMBS_BENCH_RATE": str(args.mixed_rate / args.servers)} if args.mixed_rate else {}
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
        # the warm-up runs the whole workload, review decisions too (their paths, statements
        # and connections are warmed like the others), on seeded feedback of its own: the
        # measured run finds each of its own still pending
        lines = data.read_text().splitlines(keepends=True)
        common = [ln for ln in lines if not ln.startswith("D ")]
        decided = [ln for ln in lines if ln.startswith("D ")]
        warm_data = data.with_name("warm.txt")
        warm_data.write_text("".join(common + decided[:warm_decisions]))
        data.write_text("".join(common + decided[warm_decisions:]))
        warm = wrk_many(
            urls,
            "mixed.lua",
            {**wenv, "THUMBS_BENCH_DATA": str(warm_data)},
            seconds=args.mixed_warm_up,
            connections=args.mixed_connections,
        )
        warmed = [rss_mib(s.p.pid) for s in servers]
        cpu_before = [server_cpu_seconds(s.p.pid) for s in servers]
        with RssSampler([s.p.pid for s in servers], args.rss_every) as timeline:
            runs = wrk_many(
                urls,
                "mixed.lua",
                {**wenv, **rate},
                seconds=args.mixed_seconds,
                connections=args.mixed_connections,
            )
        ended = [rss_mib(s.p.pid) for s in servers]
        cpu = [server_cpu_seconds(s.p.pid) - b for s, b in zip(servers, cpu_before, strict=True)]
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
            f"socket errors {r.errors} (of them timeouts {r.timeouts}), non-2xx {r.non2xx}"
        )
    for i, r in enumerate(warm):
        if r.errors or r.non2xx:
            print(
                f"warm-up {i + 1}: socket errors {r.errors} (timeouts {r.timeouts}), non-2xx {r.non2xx}"
            )
    memory = ", ".join(
        f"{a:.0f} → {b:.0f} → {c:.0f} MiB" for a, b, c in zip(started, warmed, ended, strict=True)
    )
    cpu_us = sum(cpu) / max(total, 1) * 1e6
    print(
        f"total {rps:,.0f} req/s, {total} requests, errors {bad}; server CPU {cpu_us:.0f} µs "
        f"per request; RSS start → warm → end: {memory}"
    )
    for i, samples in enumerate(zip(*timeline.samples, strict=True) if timeline.samples else []):
        half = samples[len(samples) // 2]
        print(
            f"server {i + 1} RSS every {args.rss_every:g} s after the warm-up (MiB): "
            + " ".join(f"{m:.0f}" for m in samples)
            + f" (second half of the run: {ended[i] - half:+.0f} MiB)"
        )
    flat = [Flatness(b, c) for b, c in zip(warmed, ended, strict=True)]
    print(f"load average {load_average()}; " + "; ".join(f.describe() for f in flat))
    p50 = max(r.p50_ms for r in runs)
    p99 = max(r.p99_ms for r in runs)
    offered = f", {args.mixed_rate:g} req/s offered" if args.mixed_rate else ""
    rows.append(
        f"| mixed {args.mix}, {engine}, {args.servers} server(s), {args.mixed_connections} "
        f"connections{offered}, {args.mixed_seconds} s | {rps:,.0f} req/s, errors {bad} "
        f"(timeouts {sum(r.timeouts for r in runs + warm)}, "
        f"non-2xx {sum(r.non2xx for r in runs + warm)}) "
        f"| p50 {p50:.1f} ms, p99 {p99:.1f} ms; server CPU {cpu_us:.0f} µs per request; "
        f"RSS start → warm → end {memory} ({', '.join(f.short() for f in flat)}) |"
    )
    if bad:
        raise SystemExit(f"the mixed workload had {bad} errors")


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
        help="list and create: also serve from this checkout (its .venv), round by round, "
        "interleaved (create: shown as 'before')",
    )
    ap.add_argument(
        "--writer-thread",
        action="store_true",
        help="create: also measure this thumbs with THUMBS_WRITER_MODE=thread, interleaved",
    )
    ap.add_argument(
        "--writer-inline",
        action="store_true",
        help="create: also measure this thumbs with THUMBS_WRITER_MODE=inline (the group "
        "commit on the server's event loop, as before the writer process was the default), "
        "interleaved",
    )
    ap.add_argument("--servers", type=int, default=1, help="server processes (mixed)")
    ap.add_argument("--mixed-seconds", type=int, default=60)
    ap.add_argument(
        "--mix",
        type=mix_shares,
        default="70/20/5/5",
        help="mixed: the shares of creates/lists/thumbs/decisions in percent (sum 100)",
    )
    ap.add_argument("--mixed-connections", type=int, default=64)
    ap.add_argument(
        "--mixed-rate",
        type=float,
        default=0,
        help="mixed: the requests per second offered, in a Poisson stream (default 0: "
        "as many as the connections can send); below the capacity, the latency production "
        "sees",
    )
    ap.add_argument(
        "--mixed-warm-up",
        type=int,
        default=30,
        help="mixed: seconds of the whole workload before the measured run (and the RSS "
        "it is compared with)",
    )
    ap.add_argument(
        "--rss-every",
        type=float,
        default=5.0,
        help="mixed: seconds between two samples of each server's resident memory (0: none)",
    )
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
