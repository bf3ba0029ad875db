"""The analytics dashboard in Debian's Chromium: it shows the numbers the /v1/Analytics API
gives for the same filters (summary, series, compare, breakdowns, worst replies, reasons),
draws the charts as SVG without breaking the Content-Security-Policy, and reads at 390 px."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.analytics.helpers import Seed, seed_at
from tests.support.accounts import Account, ConsoleUser
from tests.support.console import open_console
from tests.support.http import create_assistant
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer
from thumbs.analytics import formats, timeline
from thumbs.kit.timefmt import utcnow

pytestmark = pytest.mark.browser


def _seed(server: LiveServer, account: Account, api: httpx.Client, assistant_id: str) -> str:
    """Two weeks of feedback up to now, thumbs with reasons, two decisions; returns the
    second assistant's id."""
    other = create_assistant(api, "Candidate")
    start = utcnow() - timedelta(days=14)
    seed_at(
        server,
        account,
        assistant_id,
        [
            Seed(start + timedelta(hours=5 * i), score=0.9 if i % 3 else 0.1, text="ok")
            for i in range(60)
        ],
    )
    seed_at(
        server,
        account,
        other,
        [Seed(start + timedelta(hours=4 * i), score=0.9 if i % 6 else 0.1) for i in range(80)],
    )
    replies = [
        log_turn(
            api, assistant_id, session_id=f"chat-{i}", body=f"Question {i}?", reply=f"Answer {i}."
        )
        for i in range(3)
    ]
    for i, reply in enumerate(replies):
        for who in range(i + 1):
            thumbs(api, reply, "negative", identity=f"u{who}", reason="too long and wrong answer")
    decided = api.get("/v1/Review").json()["feedbacks"]
    assert api.post(f"/v1/Review/{decided[0]['id']}/Approve").status_code == 200
    assert api.post(f"/v1/Review/{decided[1]['id']}/Dismiss").status_code == 200
    return other


def _texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_text_contents()]


def _rate_cells(body: dict[str, Any]) -> list[str]:
    return [
        formats.count(body["positive"]),
        formats.count(body["negative"]),
        formats.percent(body["positive_rate"]),
        formats.interval(body["positive_rate_ci"]),
    ]


def test_the_dashboard_shows_the_numbers_the_api_gives(
    page: Page,
    server: LiveServer,
    admin: ConsoleUser,
    account: Account,
    api: httpx.Client,
    assistant_id: str,
) -> None:
    other = _seed(server, account, api, assistant_id)
    problems: list[str] = []

    def watch(msg: ConsoleMessage) -> None:
        # a style or script the Content-Security-Policy refuses shows here
        if msg.type in ("error", "warning") and "/favicon.ico" not in msg.location.get("url", ""):
            problems.append(f"{msg.text} {msg.location.get('url')}")

    page.on("console", watch)
    page.on("pageerror", lambda err: problems.append(str(err)))
    berlin = ZoneInfo("Europe/Berlin")
    today = datetime.now(berlin).date()
    first = today - timedelta(days=15)
    query = {
        "assistant": assistant_id,
        "tz": "Europe/Berlin",
        "date_from": first.isoformat(),
        "date_to": today.isoformat(),
        "b_assistant": other,
    }
    open_console(page, server, admin, "analytics")
    page.goto("/console/analytics?" + urlencode(query))

    # the local days of Berlin, in UTC
    since = timeline.day_start(first, berlin).isoformat() + "Z"
    until = timeline.day_start(today + timedelta(days=1), berlin).isoformat() + "Z"
    params = {"AssistantId": assistant_id, "DateCreatedAfter": since, "DateCreatedBefore": until}
    summary = api.get("/v1/Analytics/Summary", params=params).json()
    assert summary["count"] == 66

    def tile(metric: str) -> str:
        return page.locator(f'[data-metric="{metric}"] dd').first.inner_text().strip()

    assert tile("count") == formats.count(summary["count"])
    assert tile("positive_rate") == formats.percent(summary["positive_rate"])
    assert page.locator('[data-metric="positive_rate_ci"]').inner_text() == (
        "95 % interval " + formats.interval(summary["positive_rate_ci"])
    )
    assert tile("positive") == formats.count(summary["positive"])
    assert tile("negative") == formats.count(summary["negative"])
    assert tile("mean_score") == formats.number(summary["mean_score"])
    for status, n in summary["by_status"].items():
        assert page.locator(f'[data-status="{status}"]').inner_text() == f"{status} {n}"

    series = api.get(
        "/v1/Analytics/Series", params={**params, "Interval": "day", "TimeZone": "Europe/Berlin"}
    ).json()["buckets"]
    page.get_by_text("The numbers per day").click()
    shown = page.locator("#series-table tbody tr")
    assert shown.count() == len(series) == 16
    for i, bucket in enumerate(series):
        cells = [c.strip() for c in shown.nth(i).locator("td").all_text_contents()]
        assert cells == [bucket["start"], formats.count(bucket["count"]), *_rate_cells(bucket)]
    # the charts: one bar per non-empty part of a bucket, one dot per rated bucket, a band
    bars = sum(
        (b["positive"] > 0) + (b["negative"] > 0) + (b["count"] - b["positive"] - b["negative"] > 0)
        for b in series
    )
    assert page.locator("#chart-volume rect.bar").count() == bars
    rated = [b for b in series if b["positive_rate"] is not None]
    assert page.locator("#chart-satisfaction circle.dot").count() == len(rated)
    assert page.locator("#chart-satisfaction path.band").count() >= 1
    assert _texts(page, "#chart-satisfaction circle.dot title")[0].startswith(rated[0]["start"])

    compared = api.get("/v1/Analytics/Compare", params={**params, "AssistantIdB": other}).json()
    assert page.locator("#compare-message").inner_text() == compared["message"]
    b_cells = _texts(page, '#compare-table tr[data-side="b"] td')
    assert b_cells == [formats.count(compared["b"]["rated"]), *_rate_cells(compared["b"])]

    assistants = api.get("/v1/Analytics/Assistants", params=params).json()["assistants"]
    assert [
        _texts(page, f'#by-assistant tr[data-assistant-id="{a["assistant_id"]}"] td')
        for a in assistants
    ] == [[a["name"], formats.count(a["count"]), *_rate_cells(a)] for a in assistants]

    worst = api.get("/v1/Analytics/WorstReplies", params=params).json()["replies"]
    assert page.locator("#worst-replies > li").evaluate_all(
        "items => items.map(i => i.dataset.messageId)"
    ) == [w["message_id"] for w in worst]
    assert _texts(page, "#worst-replies > li:first-child .turn.user .content") == [
        worst[0]["question"]
    ]

    words = api.get("/v1/Analytics/Reasons", params=params).json()["words"]
    assert _texts(page, "#reason-words .term") == [w["term"] for w in words]
    assert _texts(page, "#reason-words .num") == [formats.count(w["count"]) for w in words]

    agreement = api.get("/v1/Analytics/Agreement", params=params).json()["agreement"]
    negative = next(a for a in agreement if a["feedback_type"] == "negative")
    assert _texts(page, '#agreement tr[data-type="negative"] td')[1:5] == [
        formats.count(negative["decided"]),
        formats.count(negative["approved"]),
        formats.count(negative["dismissed"]),
        formats.percent(negative["overturned"]),
    ]
    assert problems == []

    # the filters live in the URL: the form says what the page shows
    filters = page.locator("#analytics-filters")
    assert filters.locator('select[name="assistant"]').input_value() == assistant_id
    assert filters.get_by_label("Time zone").input_value() == "Europe/Berlin"


def test_the_dashboard_reads_at_390_pixels(
    page: Page,
    server: LiveServer,
    admin: ConsoleUser,
    account: Account,
    api: httpx.Client,
    assistant_id: str,
) -> None:
    _seed(server, account, api, assistant_id)
    page.set_viewport_size({"width": 390, "height": 844})
    open_console(page, server, admin, "analytics")
    page.goto("/console/analytics")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    label = page.locator("#chart-satisfaction text.tick").first.bounding_box()
    assert label is not None
    assert label["height"] >= 9  # the axis labels stay legible on a phone
    chart = page.locator("#chart-volume").bounding_box()
    assert chart is not None
    assert chart["width"] <= 390
    assert chart["width"] >= 280
