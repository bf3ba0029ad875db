"""Over HTTP: API paths, assistant and feedback creation, the error-body check, page tokens,
bulk seeding through the real create path, the official Twilio client pointed at the live
server, and running a coroutine beside Playwright's event loop."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from tests.support.accounts import Account
from tests.support.server import LiveServer
from thumbs.feedback import jobs as feedback_jobs
from thumbs.feedback import service as feedback_service
from thumbs.feedback.schemas import FeedbackCreate

T = TypeVar("T")

JSON_HEADERS = {"Content-Type": "application/json"}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def feedbacks_path(assistant_id: str) -> str:
    return f"/v1/Assistants/{assistant_id}/Feedbacks"


def create_feedback(api: httpx.Client, assistant_id: str, **body: Any) -> dict[str, Any]:
    """POST one feedback (``session_id`` defaults to ``"s"``) and return the 201 body."""
    body.setdefault("session_id", "s")
    res = api.post(feedbacks_path(assistant_id), json=body)
    assert res.status_code == 201, res.text
    return dict(res.json())


def create_assistant(api: httpx.Client, name: str = "Support bot") -> str:
    res = api.post("/v1/Assistants", json={"name": name})
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def assert_error(
    res: httpx.Response, status: int, code: int, *, field: str | None = None
) -> dict[str, Any]:
    """The one error shape: Twilio's body plus ``details``, JSON, never a stack trace."""
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/json")
    body = res.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["more_info"].endswith(f"/errors/{code}")
    assert "Traceback" not in res.text
    assert not {"type", "title"} <= body.keys()
    if field is not None:
        assert body["details"]["field"] == field, body
    return dict(body)


def page_token(payload: Any) -> str:
    """A ``PT…`` token around any JSON payload (the server's own format, for tampering)."""
    raw = orjson.dumps(payload)
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def seed_feedbacks(
    server: LiveServer,
    account: Account,
    assistant_id: str,
    count: int,
    *,
    session_id: str = "seeded",
) -> list[str]:
    """Write ``count`` feedbacks through the create path's own batch writer (one
    transaction), for lists that need many rows; returns their ids, oldest first."""
    with server.runtime.store.session() as session:
        ref = feedback_service.assistant_ref(
            session, account_pk=account.pk, assistant_id=assistant_id
        )
    jobs = [
        feedback_service.prepare_create(
            ref=ref,
            account_sid=account.sid,
            data=FeedbackCreate(session_id=session_id, score=(i % 11) / 10, text=f"#{i}"),
            idempotency_key=None,
        )
        for i in range(count)
    ]
    with server.runtime.store.engine.begin() as conn:
        feedback_jobs.CREATE_KIND.write_many(conn, jobs)
    return [str(job.row["id"]) for job in jobs]


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    params: dict[str, Any]
    data: dict[str, Any] | None


class RecordingHttpClient(TwilioHttpClient):
    """The library's own HTTP client, remembering each request it sends."""

    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.sent: list[Sent] = []

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> TwilioResponse:
        self.sent.append(Sent(method, url, dict(params or {}), data))
        return super().request(method, url, params=params, data=data, **kwargs)


def twilio_client(
    server: LiveServer, username: str, password: str, account_sid: str | None = None
) -> tuple[Client, RecordingHttpClient]:
    """The official helper library, pointed at the live server."""
    http = RecordingHttpClient()
    client = Client(username, password, account_sid, http_client=http)
    client.assistants.base_url = server.url
    return client, http


def run(coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
    """Run a coroutine to completion in a thread of its own: the Playwright sync API keeps an
    event loop running in the test thread while the session's browser fixture is alive.
    ``timeout``: the seconds to wait for it at most (TimeoutError after)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=timeout)
