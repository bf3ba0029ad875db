"""Review decisions conditional on what the reviewer saw: the feedback's ETag (its version)
comes with every lifecycle read and decision, and ``If-Match`` makes a decision stand only
on that state; otherwise "someone decided meanwhile" (409, code 60410)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.http import assert_error
from tests.support.lifecycle import log_turn, thumbs


def _pending(api: httpx.Client, assistant_id: str) -> str:
    res = thumbs(api, log_turn(api, assistant_id), "positive")
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _etag(api: httpx.Client, fid: str) -> str:
    res = api.get(f"/v1/Review/{fid}")
    assert res.status_code == 200, res.text
    return res.headers["etag"]


def _history(api: httpx.Client, fid: str) -> list[tuple[str | None, str]]:
    rows = api.get(f"/v1/Review/{fid}/Transitions").json()["transitions"]
    return [(t["from_status"], t["to_status"]) for t in rows]


def _golden_statuses(api: httpx.Client) -> list[str]:
    return [g["status"] for g in api.get("/v1/GoldenExamples").json()["golden_examples"]]


@pytest.mark.parametrize("action", ["Approve", "Dismiss"])
def test_a_decision_on_the_current_etag_is_taken_and_answers_the_new_one(
    api: httpx.Client, assistant_id: str, action: str
) -> None:
    fid = _pending(api, assistant_id)
    seen = _etag(api, fid)
    assert seen.startswith('"')
    assert seen.endswith('"')

    res = api.post(f"/v1/Review/{fid}/{action}", headers={"If-Match": seen})

    assert res.status_code == 200, res.text
    assert res.headers["etag"] != seen
    assert res.headers["etag"] == _etag(api, fid)
    status = "reviewed" if action == "Approve" else "dismissed"
    assert res.json()["feedback"]["status"] == status


def test_a_stale_etag_is_someone_decided_meanwhile_and_changes_nothing(
    api: httpx.Client, assistant_id: str
) -> None:
    fid = _pending(api, assistant_id)
    seen_by_b = _etag(api, fid)
    approved = api.post(f"/v1/Review/{fid}/Approve", headers={"If-Match": _etag(api, fid)})
    assert approved.status_code == 200

    res = api.post(f"/v1/Review/{fid}/Dismiss", headers={"If-Match": seen_by_b})

    body = assert_error(res, 409, 60410, field="version")
    assert "meanwhile" in body["message"]
    assert body["details"]["from"] == "reviewed"
    assert api.get(f"/v1/Review/{fid}").json()["status"] == "reviewed"
    assert _history(api, fid) == [(None, "pending"), ("pending", "reviewed")]
    assert _golden_statuses(api) == ["active"]


def test_an_earlier_decision_is_changed_explicitly_on_its_own_etag_or_without_one(
    api: httpx.Client, assistant_id: str
) -> None:
    first, second = _pending(api, assistant_id), _pending(api, assistant_id)
    for fid in (first, second):
        assert api.post(f"/v1/Review/{fid}/Approve").status_code == 200

    on_etag = api.post(f"/v1/Review/{first}/Dismiss", headers={"If-Match": _etag(api, first)})
    without = api.post(f"/v1/Review/{second}/Dismiss")

    assert (on_etag.status_code, without.status_code) == (200, 200)
    for fid in (first, second):
        assert _history(api, fid)[-1] == ("reviewed", "dismissed")
    assert _golden_statuses(api) == ["withdrawn", "withdrawn"]


def test_a_changed_reason_changes_the_etag(api: httpx.Client, assistant_id: str) -> None:
    reply = log_turn(api, assistant_id)
    fid = thumbs(api, reply, "negative", reason="vague").json()["id"]
    seen = _etag(api, fid)
    assert thumbs(api, reply, "negative", reason="wrong link").status_code == 200

    res = api.post(f"/v1/Review/{fid}/Approve", headers={"If-Match": seen})

    assert_error(res, 409, 60410)
    assert api.get(f"/v1/Review/{fid}").json()["status"] == "pending"


def test_if_match_lists_star_and_weak_tags(api: httpx.Client, assistant_id: str) -> None:
    fid = _pending(api, assistant_id)
    current = _etag(api, fid)
    weak = api.post(f"/v1/Review/{fid}/Approve", headers={"If-Match": f"W/{current}"})
    assert_error(weak, 409, 60410)
    listed = api.post(f"/v1/Review/{fid}/Approve", headers={"If-Match": f'"999", {current}'})
    assert listed.status_code == 200, listed.text
    star = api.post(f"/v1/Review/{fid}/Dismiss", headers={"If-Match": "*"})
    assert star.status_code == 200, star.text
    malformed = api.post(
        f"/v1/Review/{_pending(api, assistant_id)}/Approve", headers={"If-Match": "3"}
    )
    assert_error(malformed, 400, 60010, field="If-Match")
