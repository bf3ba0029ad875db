"""``thumbs stats``, run for real in a subprocess against the test server's database: the
JSON contract scripts rely on equals the API's summary, the table says the same numbers,
and bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from tests.analytics.helpers import Seed, seed_at
from tests.support.accounts import Account
from tests.support.http import create_assistant, create_feedback
from tests.support.processes import clean_env, no_traceback
from tests.support.processes import run_thumbs as thumbs
from tests.support.server import LiveServer
from thumbs.analytics import formats


def test_stats_json_is_the_api_summary_with_the_fixed_fields(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    other = create_assistant(api, "Other")
    for score in (1.0, 0.9, 0.2, None):
        create_feedback(api, assistant_id, score=score, text="t")
    create_feedback(api, other, score=0.0)
    seed_at(
        server,
        account,
        assistant_id,
        [Seed(datetime(2026, 1, 3), score=1.0)],
    )
    env = clean_env(THUMBS_DATABASE_URL=server.runtime.store.url)

    res = thumbs(
        "stats",
        "--account",
        account.sid,
        "--assistant",
        assistant_id,
        "--since",
        "2026-02-01",
        "--json",
        env=env,
    )

    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    api_view = api.get(
        "/v1/Analytics/Summary",
        params={"AssistantId": assistant_id, "DateCreatedAfter": "2026-02-01"},
    ).json()
    for key in (
        "count",
        "mean_score",
        "positive",
        "negative",
        "positive_rate",
        "positive_rate_ci",
        "by_status",
        "by_type",
    ):
        assert out[key] == api_view[key], key
    assert (out["count"], out["positive"], out["negative"]) == (4, 2, 1)
    assert len(out["positive_rate_ci"]) == 2
    assert out["date_created_after"] == "2026-02-01T00:00:00Z"
    everything = json.loads(thumbs("stats", "--account", account.sid, "--json", env=env).stdout)
    assert everything["count"] == 6


def test_stats_table_says_the_numbers(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    for score in (1.0, 1.0, 0.0):
        create_feedback(api, assistant_id, score=score)
    env = clean_env(THUMBS_DATABASE_URL=server.runtime.store.url)
    res = thumbs("stats", "--account", account.sid, env=env)
    assert res.returncode == 0, res.stderr
    table = dict(line.split("  ", 1) for line in res.stdout.splitlines())
    table = {k.strip(): v.strip() for k, v in table.items()}
    summary = api.get("/v1/Analytics/Summary").json()
    assert table["count"] == "3"
    assert table["positive rate"] == formats.percent(summary["positive_rate"])
    assert table["95 % interval"] == formats.interval(summary["positive_rate_ci"])
    assert table["status pending"] == "3"


def test_stats_refuses_bad_input_in_one_line(server: LiveServer, account: Account) -> None:
    env = clean_env(THUMBS_DATABASE_URL=server.runtime.store.url)
    for args, said in [
        (("--account", "ACnope"), "No account ACnope"),
        (("--account", account.sid, "--since", "last week"), "since"),
        (("--account", account.sid, "--assistant", "aia_asst_nope"), "aia_asst_nope"),
    ]:
        res = thumbs("stats", *args, env=env)
        assert res.returncode == 1, res.stdout
        assert said in res.stderr
        no_traceback(res)
