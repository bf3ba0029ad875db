"""thumbs benchmark: the feedback import alone, one build against another on the same data.

Run from the repository root:

    .venv/bin/python bench/imports.py --build ../other-checkout --build .
    .venv/bin/python bench/imports.py --database-url postgresql://postgres@127.0.0.1/bench \\
        --build ../other-checkout --build .

Fills a store as ``bench/exports.py`` does (``--rows`` feedback rows of one assistant, by
SQL), writes their JSONL export with ``thumbs export feedback``, then for each round and
each ``--build`` (a checkout with its own ``.venv``; its code is what runs) imports that
file with the build's ``thumbs import feedback`` into a copy of the filled store (a copy of
the SQLite file; ``createdb -T`` of the PostgreSQL database, which the fill uses as the
template): once (a first import), then again (every row present). Each line gives the wall
clock, the CPU seconds of the command and its parsing processes (on SQLite that includes
SQLite's own work; on PostgreSQL not the server's), the peak resident memory (``/usr/bin/time``:
the largest of the command's processes), the load average and a CPU calibration.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from exports import calibration, fill  # noqa: E402


def prepare(url: str, rows: int, tmp: Path) -> dict[str, str]:
    """The filled store and the export of its feedback; the ids the imports need."""
    from thumbs.auth import service as auth
    from thumbs.kit import ids
    from thumbs.store import migrate
    from thumbs.store.engine import Store, StoreLimits
    from thumbs.store.models import Assistant

    migrate.upgrade(url)
    store = Store(url, limits=StoreLimits(statement_timeout=0))
    with store.session() as db:
        created = auth.create_account(db, name="imports-bench")
        made = [
            Assistant(
                id=ids.new_id(ids.ASSISTANT),
                account_pk=created.account.pk,
                name=name,
                customer_ai={},
            )
            for name in ("source", "target")
        ]
        db.add_all(made)
        db.flush()
        info = {"sid": created.account.sid, "source": made[0].id, "target": made[1].id}
        account_pk, source_pk = created.account.pk, made[0].pk
    fill(store.engine, account_pk=account_pk, assistant_pk=source_pk, n=rows)
    store.dispose()
    env = {**os.environ, "THUMBS_DATABASE_URL": url, "THUMBS_LOG_LEVEL": "warning"}
    export = tmp / "export.jsonl"
    command = [sys.executable, "-m", "thumbs.cli", "export", "feedback"]
    command += ["--account", info["sid"], "--format", "jsonl", "--output", str(export)]
    subprocess.run(
        [*command, "--assistant", info["source"]],
        env=env,
        check=True,
        cwd=ROOT,
    )
    info["export"] = str(export)
    return info


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def copy_store(url: str, tmp: Path, name: str) -> tuple[str, str]:
    """A copy of the filled store: (its URL, what to drop after)."""
    if url.startswith("sqlite"):
        target = tmp / f"{name}.db"
        shutil.copyfile(url.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}", str(target)
    base = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    template = url.rsplit("/", 1)[1]
    copy = f"{template}_{name}"
    subprocess.run(["dropdb", "--if-exists", f"--maintenance-db={base}/postgres", copy], check=True)
    subprocess.run(
        ["createdb", f"--maintenance-db={base}/postgres", "-T", template, copy], check=True
    )
    return url.rsplit("/", 1)[0] + "/" + copy, copy


def drop_store(url: str, what: str) -> None:
    if url.startswith("sqlite"):
        Path(what).unlink(missing_ok=True)
        return
    base = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(["dropdb", f"--maintenance-db={base}/postgres", what], check=True)


def import_twice(build: Path, url: str, info: dict[str, str], rows: int) -> list[str]:
    lines = []
    env = {**os.environ, "THUMBS_DATABASE_URL": url, "THUMBS_LOG_LEVEL": "warning"}
    python = build / ".venv" / "bin" / "python"
    command = [str(python), "-m", "thumbs.cli", "import", "feedback", info["export"]]
    command += ["--account", info["sid"], "--assistant", info["target"], "--json"]
    for label in ("first import", "again (all present)"):
        cal, load = calibration(), os.getloadavg()[0]
        busy0, t0, cpu0 = busy_seconds(), time.monotonic(), os.times()
        res = subprocess.run(
            ["/usr/bin/time", "-f", "MAXRSS %M", *command],
            env=env,
            cwd=build,  # that build's code, before any installed copy
            capture_output=True,
            text=True,
            check=False,
        )
        wall, cpu1, busy = time.monotonic() - t0, os.times(), busy_seconds() - busy0
        if res.returncode != 0:
            raise SystemExit(f"{build}: {res.stdout[-2000:]} {res.stderr[-2000:]}")
        cpu = (cpu1.children_user - cpu0.children_user) + (
            cpu1.children_system - cpu0.children_system
        )
        report = json.loads(res.stdout)
        rss = next(ln for ln in res.stderr.splitlines() if ln.startswith("MAXRSS"))
        line = (
            f"{build.name}, {label}: {wall:.1f} s, {rows / wall:,.0f} rows/s; CPU of the "
            f"command and its parsers {cpu:.1f} s ({cpu / rows * 1e6:.1f} µs a row); machine "
            f"busy {busy:.0f} s; peak RSS {int(rss.split()[1]) / 1024:.0f} MiB; imported "
            f"{report['imported']:,}, present {report['already_present']:,}; load {load:.2f}, "
            f"calibration {cal:.2f} s; {time.strftime('%H:%M:%S', time.gmtime())} UTC"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument(
        "--database-url",
        default="sqlite",
        help="'sqlite' (a new file) or an empty PostgreSQL database (filled, then copied)",
    )
    ap.add_argument("--build", action="append", type=Path, help="a checkout (default: this)")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    from thumbs.config import normalize_database_url

    tmp = Path(tempfile.mkdtemp(prefix="thumbs-bench-imports-"))
    url = (
        f"sqlite:///{tmp / 'filled.db'}"
        if args.database_url == "sqlite"
        else normalize_database_url(args.database_url)
    )
    try:
        info = prepare(url, args.rows, tmp)
        builds = [b.resolve() for b in args.build or [ROOT]]
        for _ in range(args.rounds):
            for number, build in enumerate(builds):
                copy_url, what = copy_store(url, tmp, f"run{number}")
                try:
                    import_twice(build, copy_url, info, args.rows)
                finally:
                    drop_store(copy_url, what)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
