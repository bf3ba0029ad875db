"""The /v1/Analytics resources against numbers recomputed from the rows: summaries (from the
rollups, and from rows when a filter needs them), series in time zones across daylight
saving changes and with half-hour offsets, breakdowns, worst replies, agreement, reasons,
comparisons, and the validation of every parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.analytics.helpers import Seed, oracle, rows, same_numbers, seed_at
from tests.support.accounts import Account, create_user, make_account
from tests.support.http import assert_error, create_assistant, create_feedback
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer
from thumbs.analytics import stats

SUMMARY = "/v1/Analytics/Summary"
SERIES = "/v1/Analytics/Series"


def test_an_empty_account_has_zero_counts_and_no_rates(api: httpx.Client) -> None:
    body = api.get(SUMMARY).json()
    assert body["count"] == 0
    assert body["positive_rate"] is None
    assert body["positive_rate_ci"] is None
    assert body["mean_score"] is None
    assert body["by_status"] == {"pending": 0, "auto_approved": 0, "reviewed": 0, "dismissed": 0}
    assert body["median_time_to_review"] is None
    assert body["source"] == "rollups"


def test_summary_counts_what_the_rows_hold_after_every_kind_of_write(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    other = create_assistant(api, "Other bot")
    for score, text in [(0.9, "great"), (0.2, "wrong answer"), (None, "just a note"), (0.5, "")]:
        create_feedback(api, assistant_id, score=score, text=text)
    create_feedback(api, other, score=0.1, session_id="elsewhere")
    replies = [log_turn(api, assistant_id, session_id=f"c{i}") for i in range(3)]
    up = thumbs(api, replies[0], "positive").json()
    down = thumbs(api, replies[1], "negative", reason="too long").json()
    thumbs(api, replies[2], "negative", identity="u2", reason="slow")
    thumbs(api, replies[2], "positive", identity="u2")  # the verdict changes
    assert api.post(f"/v1/Review/{up['id']}/Approve").status_code == 200
    assert api.post(f"/v1/Review/{down['id']}/Dismiss").status_code == 200
    listed = api.get(f"/v1/Assistants/{assistant_id}/Feedbacks").json()["feedbacks"]
    changed = next(f for f in listed if f["text"] == "wrong answer")
    res = api.put(f"/v1/Assistants/{assistant_id}/Feedbacks/{changed['id']}", json={"score": 0.8})
    assert res.status_code == 200
    note = next(f for f in listed if f["text"] == "just a note")
    assert api.delete(f"/v1/Assistants/{assistant_id}/Feedbacks/{note['id']}").status_code == 204

    everything = api.get(SUMMARY).json()
    mine = api.get(SUMMARY, params={"AssistantId": assistant_id}).json()

    all_rows = rows(server, account)
    same_numbers(everything, oracle(all_rows))
    mine_rows = [f for f in all_rows if f.session_id != "elsewhere"]
    same_numbers(mine, oracle(mine_rows))
    assert mine["count"] == 6
    assert mine["by_status"]["reviewed"] == 1
    assert mine["by_status"]["dismissed"] == 1
    low, high = stats.wilson(mine["positive"], mine["positive"] + mine["negative"]) or (0, 0)
    assert mine["positive_rate_ci"] == pytest.approx([low, high])
    assert mine["reviewed_share"] == pytest.approx(2 / 6)
    median = mine["median_time_to_review"]
    assert median["low"] == 0
    assert median["high"] == 60  # decided within the minute


def test_a_session_filter_reads_rows_and_agrees_with_them(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    for i in range(6):
        create_feedback(api, assistant_id, score=i / 5, session_id="s1" if i % 2 else "s2")
    body = api.get(SUMMARY, params={"SessionId": "s1", "AssistantId": assistant_id}).json()
    assert body["source"] == "rows"
    same_numbers(body, oracle([f for f in rows(server, account) if f.session_id == "s1"]))


def test_any_date_range_counts_the_minutes_at_its_edges(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    start = datetime(2026, 3, 1, 22, 50)
    seeds = [
        Seed(start + timedelta(minutes=17 * i), score=(i % 7) / 6, text="x" if i % 3 else None)
        for i in range(400)
    ]
    seed_at(server, account, assistant_id, seeds)
    every = rows(server, account)
    for since, until in [
        (datetime(2026, 3, 1, 23, 7, 30), datetime(2026, 3, 5, 11, 41)),  # minutes, hours, days
        (datetime(2026, 3, 2), datetime(2026, 3, 4)),  # whole days
        (datetime(2026, 3, 2, 5, 10), datetime(2026, 3, 2, 5, 50)),  # inside one hour
        (datetime(2026, 3, 2, 5), datetime(2026, 3, 2, 9)),  # whole hours
    ]:
        body = api.get(
            SUMMARY,
            params={
                "DateCreatedAfter": since.isoformat() + "Z",
                "DateCreatedBefore": until.isoformat() + "Z",
            },
        ).json()
        inside = [f for f in every if since <= f.date_created < until]
        assert inside, (since, until)
        same_numbers(body, oracle(inside))
    # a date with an offset is the same instant in UTC
    body = api.get(SUMMARY, params={"DateCreatedAfter": "2026-03-02T06:00:00+01:00"}).json()
    assert body["count"] == sum(f.date_created >= datetime(2026, 3, 2, 5) for f in every)


def _local_day_counts(found: list[datetime], zone: str) -> dict[str, int]:
    tz = ZoneInfo(zone)
    out: dict[str, int] = {}
    for when in found:
        day = when.replace(tzinfo=UTC).astimezone(tz).date().isoformat()
        out[day] = out.get(day, 0) + 1
    return out


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "America/New_York", "UTC"])
def test_daily_series_in_a_time_zone_matches_the_local_days_of_the_rows(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str, zone: str
) -> None:
    # around the spring change of Europe and America; nothing on 2026-03-27
    start = datetime(2026, 3, 25, 0, 0)
    seeds = [
        Seed(start + timedelta(minutes=29 * i), score=0.9 if i % 4 else 0.1)
        for i in range(300)
        if (start + timedelta(minutes=29 * i)).day != 27
    ]
    seed_at(server, account, assistant_id, seeds)
    since, until = datetime(2026, 3, 24), datetime(2026, 4, 2)
    res = api.get(
        SERIES,
        params={
            "Interval": "day",
            "TimeZone": zone,
            "DateCreatedAfter": since.isoformat(),
            "DateCreatedBefore": until.isoformat(),
        },
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["time_zone"] == zone
    days = {b["start"][:10]: b for b in body["buckets"]}
    created = [f.date_created for f in rows(server, account)]
    want = _local_day_counts(created, zone)
    for day, count in want.items():
        assert days[day]["count"] == count, (zone, day)
    assert sum(b["count"] for b in body["buckets"]) == len(created)
    # every local day of the range is there, the empty ones with zeros
    assert len(days) == len(body["buckets"])
    assert any(b["count"] == 0 for b in body["buckets"])
    for b in body["buckets"]:
        assert (
            b["start"]
            == datetime.fromisoformat(b["start_utc"]).astimezone(ZoneInfo(zone)).isoformat()
        )
    if zone == "Europe/Berlin":
        lengths = {
            b["start"][:10]: datetime.fromisoformat(b["end_utc"])
            - datetime.fromisoformat(b["start_utc"])
            for b in body["buckets"]
        }
        assert lengths["2026-03-29"] == timedelta(hours=23)
        assert lengths["2026-03-28"] == timedelta(hours=24)
    positive = sum(b["positive"] for b in body["buckets"])
    assert positive == sum(f.feedback_type == "positive" for f in rows(server, account))


@pytest.mark.parametrize(
    ("interval", "zone"),
    [("hour", "Asia/Kathmandu"), ("week", "UTC"), ("month", "America/New_York")],
)
def test_other_intervals_add_up_to_the_summary(
    server: LiveServer,
    account: Account,
    api: httpx.Client,
    assistant_id: str,
    interval: str,
    zone: str,
) -> None:
    start = datetime(2026, 1, 30, 20, 0)
    step = timedelta(minutes=7) if interval == "hour" else timedelta(hours=9)
    seed_at(server, account, assistant_id, [Seed(start + step * i, score=0.7) for i in range(120)])
    params = {
        "Interval": interval,
        "TimeZone": zone,
        "DateCreatedAfter": "2026-01-30T21:10:00Z",
        "DateCreatedBefore": "2026-02-10T03:00:00Z"
        if interval != "hour"
        else "2026-01-31T06:20:00Z",
    }
    series = api.get(SERIES, params=params).json()
    total = api.get(
        SUMMARY, params={k: v for k, v in params.items() if k.startswith("DateCreated")}
    ).json()
    assert sum(b["count"] for b in series["buckets"]) == total["count"] > 0
    starts = [b["start_utc"] for b in series["buckets"]]
    assert starts == sorted(starts)
    assert all(a["end_utc"] == b["start_utc"] for a, b in pairwise(series["buckets"]))


def test_series_without_dates_covers_the_last_thirty_days(
    api: httpx.Client, assistant_id: str
) -> None:
    create_feedback(api, assistant_id, score=1)
    body = api.get(SERIES).json()
    assert body["interval"] == "day"
    assert len(body["buckets"]) == 30
    assert body["buckets"][-1]["count"] == 1
    assert body["buckets"][-1]["positive_rate"] == 1


def test_breakdowns_by_assistant_session_end_user_and_reviewer(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    other = create_assistant(api, "Other bot")
    create_user(api, "rev", "admin")
    for _ in range(3):
        create_feedback(api, other, score=0.0, session_id="o")
    replies = [log_turn(api, assistant_id, session_id=f"chat-{i % 2}") for i in range(4)]
    verdicts = []
    for i, reply in enumerate(replies):
        verdicts.append(
            thumbs(api, reply, "negative" if i else "positive", identity=f"u{i % 2}").json()
        )
    api.post(f"/v1/Review/{verdicts[1]['id']}/Approve", headers={"X-Thumbs-Identity": "rev"})
    api.post(f"/v1/Review/{verdicts[2]['id']}/Dismiss")

    assistants = api.get("/v1/Analytics/Assistants").json()["assistants"]
    assert [(a["name"], a["count"], a["negative"]) for a in assistants] == [
        ("Support bot", 4, 3),
        ("Other bot", 3, 3),
    ]
    sessions = api.get("/v1/Analytics/Sessions", params={"AssistantId": assistant_id}).json()
    assert {s["session_id"]: s["count"] for s in sessions["sessions"]} == {"chat-0": 2, "chat-1": 2}
    users = api.get("/v1/Analytics/EndUsers").json()["end_users"]
    assert {(u["identity"], u["count"], u["positive"]) for u in users} == {
        ("u0", 2, 1),
        ("u1", 2, 0),
    }
    reviewers = api.get("/v1/Analytics/Reviewers").json()["reviewers"]
    assert sorted((r["user_sid"] is None, r["approved"], r["dismissed"]) for r in reviewers) == [
        (False, 1, 0),
        (True, 0, 1),
    ]
    agreement = {
        a["feedback_type"]: a for a in api.get("/v1/Analytics/Agreement").json()["agreement"]
    }
    assert agreement["negative"]["decided"] == 2
    assert agreement["negative"]["overturned"] == 0.5
    assert agreement["positive"]["decided"] == 0
    assert agreement["all"]["dismissed"] == 1


def test_worst_replies_come_first_with_their_question(api: httpx.Client, assistant_id: str) -> None:
    bad = log_turn(api, assistant_id, session_id="a", body="Where is my order?", reply="No idea.")
    meh = log_turn(api, assistant_id, session_id="b", body="Refund?", reply="Maybe.")
    good = log_turn(api, assistant_id, session_id="c", body="Hi", reply="Hello!")
    for i in range(5):
        thumbs(api, bad, "negative", identity=f"u{i}")
    thumbs(api, meh, "negative", identity="u0")
    thumbs(api, meh, "positive", identity="u1")
    thumbs(api, good, "positive", identity="u0")
    replies = api.get("/v1/Analytics/WorstReplies").json()["replies"]
    assert [(r["message_id"], r["question"], r["reply"], r["negative"]) for r in replies] == [
        (bad, "Where is my order?", "No idea.", 5),
        (meh, "Refund?", "Maybe.", 1),
    ]
    assert replies[0]["session_id"] == "a"


def test_reasons_give_words_and_phrases_with_counts_and_examples(
    api: httpx.Client, assistant_id: str
) -> None:
    said = [
        "The answer was too long and did not answer the question.",
        "Too long! Wrong answer.",
        "wrong answer, again",
        "It is too long",
    ]
    ids = [create_feedback(api, assistant_id, score=0.0, text=t)["id"] for t in said]
    create_feedback(api, assistant_id, score=1.0, text="too long but fine")  # positive: not read
    body = api.get("/v1/Analytics/Reasons").json()
    assert body["scanned"] == 4
    assert body["complete"] is True
    words = {w["term"]: w for w in body["words"]}
    assert words["long"]["count"] == 3
    assert words["answer"]["count"] == 3
    assert "the" not in words
    assert "too" not in words
    phrases = {p["term"]: p["count"] for p in body["phrases"]}
    assert phrases["too long"] == 3
    assert phrases["wrong answer"] == 2
    assert set(words["wrong"]["feedback_ids"]) == {ids[1], ids[2]}
    positive = api.get("/v1/Analytics/Reasons", params={"FeedbackType": "positive"}).json()
    assert positive["scanned"] == 1


def test_compare_two_assistants_says_which_is_better(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    other = create_assistant(api, "B")
    now = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    seed_at(
        server, account, assistant_id, [Seed(now, score=1.0 if i < 60 else 0.0) for i in range(100)]
    )
    seed_at(server, account, other, [Seed(now, score=1.0 if i < 80 else 0.0) for i in range(100)])
    body = api.get(
        "/v1/Analytics/Compare", params={"AssistantId": assistant_id, "AssistantIdB": other}
    ).json()
    z, p = stats.two_proportion_z(60, 100, 80, 100) or (0, 1)
    assert body["verdict"] == "b_better"
    assert body["difference"] == pytest.approx(0.2)
    assert body["p_value"] == pytest.approx(p)
    assert body["z"] == pytest.approx(z)
    assert body["message"] == f"B is better: +20.0 points, p = {p:.3f}"
    assert body["a"]["assistant_id"] == assistant_id
    assert body["b"]["positive_rate"] == 0.8
    low, high = body["difference_ci"]
    assert low < 0.2 < high


def test_compare_one_assistant_over_two_periods_asks_for_more_ratings(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    seed_at(
        server,
        account,
        assistant_id,
        [Seed(datetime(2026, 1, 5), score=1.0 if i % 2 else 0.0) for i in range(40)],
    )
    seed_at(
        server,
        account,
        assistant_id,
        [Seed(datetime(2026, 2, 5), score=1.0 if i < 12 else 0.0) for i in range(20)],
    )
    body = api.get(
        "/v1/Analytics/Compare",
        params={
            "AssistantId": assistant_id,
            "DateCreatedAfter": "2026-01-01",
            "DateCreatedBefore": "2026-02-01",
            "DateCreatedAfterB": "2026-02-01",
            "DateCreatedBeforeB": "2026-03-01",
        },
    ).json()
    assert body["verdict"] == "not_distinguishable"
    assert (body["a"]["rated"], body["b"]["rated"]) == (40, 20)
    needed = stats.sample_size(32 / 60, 32 / 60 + 0.05)
    assert body["needed_per_group"] >= needed
    assert body["more_per_group"] == body["needed_per_group"] - 20
    assert body["message"].startswith("not distinguishable yet: about ")
    assert "more ratings each would tell a 5-point difference" in body["message"]
    assert body["b"]["date_created_after"] == "2026-02-01T00:00:00Z"


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "field"),
    [
        (SUMMARY, {"FeedbackType": "great"}, 400, 60008, "FeedbackType"),
        (SUMMARY, {"Status": "done"}, 400, 60008, "Status"),
        (SUMMARY, {"Channel": "fax"}, 400, 60008, "Channel"),
        (SUMMARY, {"DateCreatedAfter": "yesterday"}, 400, 60008, "DateCreatedAfter"),
        (
            SUMMARY,
            {"DateCreatedAfter": "2026-02-01", "DateCreatedBefore": "2026-01-01"},
            400,
            60008,
            "DateCreatedBefore",
        ),
        (SUMMARY, {"AssistantId": "aia_asst_nope"}, 404, 20404, None),
        (SUMMARY, {"UserSid": "USnope"}, 404, 20404, None),
        (SERIES, {"TimeZone": "Mars/Olympus"}, 400, 60010, "TimeZone"),
        (SERIES, {"TimeZone": "../../etc/passwd"}, 400, 60010, "TimeZone"),
        (SERIES, {"Interval": "year"}, 400, 60008, "Interval"),
        (
            SERIES,
            {
                "Interval": "hour",
                "DateCreatedAfter": "2026-01-01",
                "DateCreatedBefore": "2026-03-01",
            },
            400,
            60008,
            "Interval",
        ),
        ("/v1/Analytics/Sessions", {"Limit": "0"}, 400, 60008, "Limit"),
        ("/v1/Analytics/Compare", {}, 400, 60002, "AssistantIdB"),
        (
            "/v1/Analytics/Compare",
            {"AssistantIdB": "x", "Difference": "0"},
            400,
            60008,
            "Difference",
        ),
    ],
)
def test_parameters_are_validated(
    api: httpx.Client,
    path: str,
    params: dict[str, str],
    status: int,
    code: int,
    field: str | None,
) -> None:
    assert_error(api.get(path, params=params), status, code, field=field)


def test_analytics_is_for_staff_and_stays_inside_the_account(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    create_feedback(api, assistant_id, score=1)
    create_user(api, "member-1", "member")
    assert api.get(SUMMARY, headers={"X-Thumbs-Identity": "member-1"}).json()["count"] == 1
    assert_error(api.get(SUMMARY, headers={"X-Thumbs-Identity": "end-user"}), 403, 60403)
    with server.client() as anonymous:
        assert_error(anonymous.get(SUMMARY), 401, 20003)
    stranger = make_account(server, "stranger")
    with server.client(auth=(stranger.sid, stranger.token)) as other:
        assert other.get(SUMMARY).json()["count"] == 0
        assert_error(other.get(SUMMARY, params={"AssistantId": assistant_id}), 404, 20404)


def test_a_series_with_a_session_filter_reads_rows_bucket_by_bucket(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    start = datetime(2026, 5, 1, 20, 0)
    seed_at(
        server,
        account,
        assistant_id,
        [
            Seed(start + timedelta(hours=3 * i), score=0.8, session_id="s1" if i % 3 else "s2")
            for i in range(80)
        ],
    )
    params = {
        "SessionId": "s1",
        "Interval": "day",
        "TimeZone": "America/New_York",
        "DateCreatedAfter": "2026-05-02T04:00:00Z",
        "DateCreatedBefore": "2026-05-10T04:00:00Z",
    }
    body = api.get(SERIES, params=params).json()
    days = {b["start"][:10]: b["count"] for b in body["buckets"]}
    chosen = [
        f.date_created
        for f in rows(server, account)
        if f.session_id == "s1"
        and datetime(2026, 5, 2, 4) <= f.date_created < datetime(2026, 5, 10, 4)
    ]
    assert days == _local_day_counts(chosen, "America/New_York")
    assert len(days) == 8
