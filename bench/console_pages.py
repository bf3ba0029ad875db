"""Console pages: the server time of each page's first render, with 100,000 feedback rows.

Run from the repository root:

    .venv/bin/python bench/console_pages.py            # SQLite, 100,000 rows
    .venv/bin/python bench/console_pages.py --rows 100000 --repeat 21 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_console

It seeds a fresh store (a SQLite file in a temporary directory, or the given PostgreSQL
database, emptied first): one account with an admin, three assistants, sessions of two
turns, and ``--rows`` feedback records: a thumb on every assistant reply (a fifth of them
pending review, with reasons) and session scores through the API channel for the rest, over
90 days, plus golden examples, preference pairs and settings. Then it starts
``thumbs serve`` on loopback, signs in through the console's form and requests every page
``--repeat`` times after one warm-up request on a kept-alive connection. The figure is the
time to the first byte of the response: the console renders a page whole before it sends
anything, so that is the server's time (routing, queries, template) plus one loopback
round trip. The budget is 100 ms (median) per page. The table is printed and written to
``bench/results/console_latest.md``.
"""

from __future__ import annotations

import argparse
import http.client
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from run import THUMBS, Proc, free_port
from sqlalchemy import insert, text

from thumbs.auth import console
from thumbs.auth import service as auth
from thumbs.config import normalize_database_url
from thumbs.kit import ids
from thumbs.kit.timefmt import utcnow
from thumbs.store import migrate
from thumbs.store.engine import Store
from thumbs.store.models import (
    Assistant,
    ConversationSession,
    Feedback,
    FeedbackSetting,
    GoldenExample,
    Message,
    PreferencePair,
)

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 100.0
EMAIL = "bench@example.com"
PASSWORD = "bench password for the console"
QUESTIONS = (
    "How do I export my invoices to PDF?",
    "Where do I change the billing address?",
    "Can I get a refund for last month?",
    "How do I add a teammate to the account?",
)


def returning(conn: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows, returning their keys in the order given."""
    result = conn.execute(insert(table).returning(table.pk, sort_by_parameter_order=True), rows)
    return [int(pk) for pk in result.scalars()]


def seed(url: str, rows: int) -> dict[str, str]:
    """A fresh store with ``rows`` feedback records; returns ids the pages are asked for."""
    store = Store(url)
    if not store.sqlite:
        with store.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(url)
    with store.session() as s:
        created = auth.create_account(s, name="console bench")
        account_pk, account_sid = created.account.pk, created.account.sid
        console.create_user(
            s, account_sid=account_sid, email=EMAIL, role="admin", password=PASSWORD
        )
        auth.create_api_key(s, account=created.account, name="bench")
        assistants = []
        for name in ("Billing bot", "Onboarding helper", "Support bot"):
            a = Assistant(
                id=ids.new_id(ids.ASSISTANT), account_pk=account_pk, name=name, customer_ai={}
            )
            s.add(a)
            s.flush()
            assistants.append((a.pk, a.id))
        for scope, apk in (("*", None), (assistants[0][1], assistants[0][0])):
            for kind in ("positive", "negative"):
                s.add(
                    FeedbackSetting(
                        account_pk=account_pk,
                        scope=scope,
                        assistant_pk=apk,
                        feedback_type=kind,
                        auto_approve=False,
                        require_reason=kind == "negative",
                    )
                )
    start = utcnow() - timedelta(days=90)
    thumbs = rows * 2 // 5  # one thumb per reply: two replies per session
    sessions = thumbs // 2
    step = timedelta(days=90) / max(rows, 1)
    with store.engine.begin() as conn:
        replies: list[tuple[int, str, int, int, Any]] = []  # pk, id, session, assistant, when
        for first in range(0, sessions, 2000):
            chunk = range(first, min(first + 2000, sessions))
            session_rows = []
            for i in chunk:
                apk = assistants[i % 3][0]
                when = start + step * i * 5
                session_rows.append(
                    {
                        "id": f"sess-{i}",
                        "account_pk": account_pk,
                        "assistant_pk": apk,
                        "identity": f"user{i % 997}@example.com",
                        "verified": False,
                        "date_created": when,
                        "date_updated": when,
                    }
                )
            session_pks = returning(conn, ConversationSession, session_rows)
            message_rows = []
            for spk, i in zip(session_pks, chunk, strict=True):
                apk = assistants[i % 3][0]
                when = start + step * i * 5
                for turn in range(4):
                    role = "user" if turn % 2 == 0 else "assistant"
                    content = (
                        QUESTIONS[(i + turn) % 4]
                        if role == "user"
                        else "Open Settings, then Billing. " * (1 + i % 5)
                    )
                    message_rows.append(
                        {
                            "id": ids.new_id(ids.MESSAGE),
                            "account_pk": account_pk,
                            "assistant_pk": apk,
                            "session_pk": spk,
                            "identity": f"user{i % 997}@example.com",
                            "role": role,
                            "content": content,
                            "meta": {},
                            "date_created": when,
                            "date_updated": when,
                        }
                    )
            message_pks = returning(conn, Message, message_rows)
            for m, pk in zip(message_rows, message_pks, strict=True):
                if m["role"] == "assistant":
                    replies.append(
                        (pk, m["id"], m["session_pk"], m["assistant_pk"], m["date_created"])
                    )
        session_ids = {}
        for first in range(0, rows, 5000):
            batch = []
            for n in range(first, min(first + 5000, rows)):
                when = start + step * n
                status = ("pending", "reviewed", "auto_approved", "dismissed", "reviewed")[n % 5]
                if n < len(replies):
                    mpk, mid, spk, apk, _ = replies[n]
                    kind = "negative" if n % 3 == 0 else "positive"
                    sid = f"sess-{n // 2}"
                    batch.append(
                        {
                            "id": ids.new_id(ids.FEEDBACK),
                            "account_pk": account_pk,
                            "assistant_pk": apk,
                            "session_id": sid,
                            "message_id": mid,
                            "message_pk": mpk,
                            "score": 0.0 if kind == "negative" else 1.0,
                            "text": None,
                            "channel": "thumbs",
                            "feedback_type": kind,
                            "reason": "It did not say where the button is" if n % 2 else None,
                            "status": status,
                            "date_created": when,
                            "date_updated": when,
                        }
                    )
                else:
                    apk = assistants[n % 3][0]
                    sid = f"sess-{n % max(sessions, 1)}"
                    batch.append(
                        {
                            "id": ids.new_id(ids.FEEDBACK),
                            "account_pk": account_pk,
                            "assistant_pk": apk,
                            "session_id": sid,
                            "message_id": None,
                            "message_pk": None,
                            "score": (n % 11) / 10,
                            "text": "problem resolved" if n % 2 else "not helpful",
                            "channel": "api",
                            "feedback_type": "positive" if n % 11 >= 5 else "negative",
                            "reason": None,
                            "status": status,
                            "date_created": when,
                            "date_updated": when,
                        }
                    )
                session_ids.setdefault("session", sid)
            conn.execute(insert(Feedback), batch)
        golden = []
        for g in range(min(2000, len(replies))):
            mpk, _, _, apk, when = replies[g]
            q = QUESTIONS[g % 4]
            golden.append(
                {
                    "id": ids.new_id(ids.GOLDEN),
                    "account_pk": account_pk,
                    "assistant_pk": apk,
                    "message_pk": mpk,
                    "input": [{"role": "user", "content": q}],
                    "prompt": q,
                    "output": f"Open Billing, then Invoices ({g}).",
                    "source": "corrected",
                    "status": "active" if g % 10 else "withdrawn",
                    "date_created": when,
                    "date_updated": when,
                }
            )
        golden_pks = returning(conn, GoldenExample, golden) if golden else []
        pairs = [
            {
                "id": ids.new_id(ids.PAIR),
                "account_pk": account_pk,
                "assistant_pk": g["assistant_pk"],
                "golden_pk": pk,
                "input": g["input"],
                "chosen": g["output"],
                "rejected": "I do not know.",
                "status": "active",
                "date_created": g["date_created"],
                "date_updated": g["date_created"],
            }
            for g, pk in list(zip(golden, golden_pks, strict=True))[:1000]
        ]
        if pairs:
            conn.execute(insert(PreferencePair), pairs)
    if not store.sqlite:
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    store.dispose()
    return {"assistant": assistants[0][1], "session": "sess-1"}


def sign_in(base: str) -> str:
    """The session cookie of the bench's admin, through the sign-in form."""
    with httpx.Client(base_url=base, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                form = client.get("/console/login")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert found is not None
        res = client.post(
            "/console/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": found.group(1)},
        )
        assert res.status_code == 303, res.text
        return f"thumbs_session={client.cookies['thumbs_session']}"


def next_page(conn: http.client.HTTPConnection, path: str, cookie: str) -> str:
    """The explorer's "Older" link from ``path`` (a keyset page further on)."""
    conn.request("GET", path, headers={"Cookie": cookie})
    body = conn.getresponse().read().decode()
    found = re.search(r'rel="next" href="([^"]+)"', body)
    assert found is not None, "no next page"
    return found.group(1).replace("&amp;", "&")


def measure(
    conn: http.client.HTTPConnection, path: str, cookie: str, repeat: int
) -> tuple[list[float], int, int]:
    """Times to first byte (ms) of ``repeat`` GETs after one warm-up; status; body size."""
    times = []
    status = size = 0
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        res = conn.getresponse()
        first = time.perf_counter()
        body = res.read()
        status, size = res.status, len(body)
        if i:
            times.append((first - t0) * 1000)
    return times, status, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()

    data = Path(tempfile.mkdtemp(prefix="thumbs-console-bench-"))
    url = normalize_database_url(args.database_url or f"sqlite:///{data / 'thumbs.db'}")
    t0 = time.monotonic()
    ids_of = seed(url, args.rows)
    seeded = time.monotonic() - t0
    port = free_port()
    env = {
        "THUMBS_DATA_DIR": str(data),
        "THUMBS_DATABASE_URL": url,
        "THUMBS_PORT": str(port),
        "THUMBS_LOG_LEVEL": "warning",
    }
    server = Proc([*THUMBS, "serve"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        cookie = sign_in(base)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        aid, sid = ids_of["assistant"], ids_of["session"]
        pages = [
            "/console/simulator",
            "/console/review",
            "/console/review?" + urlencode({"type": "negative", "has_reason": "yes"}),
            "/console/golden",
            "/console/golden?q=invoices",
            "/console/assistants",
            "/console/settings",
            "/console/feedback",
            "/console/feedback?status=pending",
            "/console/feedback?" + urlencode({"assistant": aid, "type": "negative"}),
            "/console/feedback?" + urlencode({"session_id": sid}),
            f"/console/sessions/{sid}?assistant={aid}",
            "/console/users",
            "/console/keys",
        ]
        deep = "/console/feedback"
        for _ in range(20):
            deep = next_page(conn, deep, cookie)
        pages.insert(8, deep)
        results = []
        for path in [*pages, "/console/login"]:
            times, status, size = measure(
                conn, path, "" if path.endswith("/login") else cookie, args.repeat
            )
            assert status == 200, (path, status)
            median = statistics.median(times)
            p90 = sorted(times)[int(0.9 * (len(times) - 1))]
            results.append((path, median, p90, max(times), size))
        conn.close()
    finally:
        server.stop()

    engine = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    label = re.compile(r"PageToken=[^&]+")
    lines = [
        f"Console pages, {args.rows:,} feedback rows, {engine}, {args.repeat} requests per page "
        f"after a warm-up, time to first byte over loopback (seeded in {seeded:.0f} s)",
        "",
        "| page | median ms | p90 ms | max ms | KiB | within 100 ms |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for path, median, p90, worst, size in results:
        shown = label.sub("PageToken=… (21st page)", path)
        ok = "yes" if median <= BUDGET_MS else "**no**"
        lines.append(
            f"| `{shown}` | {median:.1f} | {p90:.1f} | {worst:.1f} | {size / 1024:.0f} | {ok} |"
        )
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results" / "console_latest.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(table + "\n")
    if any(median > BUDGET_MS for _, median, *_ in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
