"""Feedback answers that the Go helper library can read.

Every official Twilio library reads thumbs' feedback as it is, ``"score": null`` included (a
feedback given without a score), except twilio-go: its decoder takes ``score`` only from a
number and fails the whole call on ``null`` ("unhandled input type for float32: <nil>"), so
one text-only feedback breaks its create, and every list page that holds one. Go's own
requests make no difference between a score of 0 and no score either: its request struct
leaves out a zero ``score`` (``omitempty``). So to a caller whose User-Agent is twilio-go's,
a feedback without a score is answered with ``"score": 0``, Go's zero value, which is what
that library means by "no score". Every other caller gets ``null``; what is stored does not
change.

A pure ASGI middleware: other requests pass through after a look at the path and one header.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GO_USER_AGENT = b"twilio-go/"


def from_go(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"user-agent":
            return bool(value.startswith(GO_USER_AGENT))
    return False


def _scores_for_go(body: bytes) -> bytes:
    """The body with ``"score": null`` as 0 in a feedback, or in each of a page of them."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    records: list[Any] = []
    if isinstance(data, dict):
        feedbacks = data.get("feedbacks")
        records = feedbacks if isinstance(feedbacks, list) else [data]
    changed = False
    for record in records:
        if isinstance(record, dict) and "score" in record and record["score"] is None:
            record["score"] = 0
            changed = True
    return orjson.dumps(data) if changed else body


class GoClientScores:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/Feedbacks" not in scope["path"] or not from_go(scope):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def send_for_go(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if 200 <= start["status"] < 300:
                body = _scores_for_go(body)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_for_go)
