"""The application sees a request only once its whole body has arrived.

A client's slowness must never hold what the server shares. When a handler's dependencies
opened a store session and then waited for the rest of a body, a client that sent half a
body held a pooled store connection for as long as it cared to wait: 32 such clients held
them all. So the body is received here, in full, before the application is called: at most
``limit`` bytes (``limits`` holds other limits by path prefix). The application then reads
it from memory, and nothing it does can wait on the client. How long a client may take to
send it is the server protocol's limit (``thumbs.server``, THUMBS_BODY_TIMEOUT): a timer
here would cost every request, there only a request whose body did not come with its head.

A body that is too large is not answered here: the error is raised where the application
reads the body, so that the API answers it with its JSON error body and the console with
its error page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from thumbs.kit import errors as E

log = logging.getLogger("thumbs.intake")


def size_text(limit: int) -> str:
    """``65536`` as "64 KiB", ``1048576`` as "1 MiB"."""
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def too_large(limit: int) -> E.ThumbsError:
    return E.ThumbsError(
        E.BODY_TOO_LARGE, f"The request body is larger than {size_text(limit)}", field="body"
    )


class _ClientLeft(Exception):
    pass


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length, 0 when the request has no body, None when it is chunked."""
    length = 0
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value)  # the HTTP parser has checked it is a number
        elif name == b"transfer-encoding":
            return None
    return length


class WholeBody:
    """ASGI middleware: receive the whole body, within ``limit`` bytes (``limits``: other
    limits by path prefix), then call the application."""

    def __init__(self, app: ASGIApp, *, limit: int, limits: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.limit = limit
        self.limits = tuple(limits)

    def _limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared == 0:  # no body: nothing to wait for
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        if declared is not None and declared > limit:
            # not read at all: the application answers 413 without waiting for it
            await self.app(scope, _failing(too_large(limit)), send)
            return
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            first = message  # the usual case: the body came with the head
        else:
            try:
                first = await _receive_rest(message, receive, limit)
            except _ClientLeft:
                log.info("client went away before its whole body: %s %s", *_line(scope))
                return
        if len(first.get("body", b"")) > limit:
            await self.app(scope, _failing(too_large(limit)), send)
            return
        await self.app(scope, _replay(first, receive), send)


def _line(scope: Scope) -> tuple[str, str]:
    return scope["method"], scope["path"]


async def _receive_rest(message: Message, receive: Receive, limit: int) -> Message:
    """The whole body in one message: ``message`` and the ones that follow (reading stops
    past ``limit``)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] != "http.request":
            raise _ClientLeft
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit or not message.get("more_body", False):
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        message = await receive()


def _replay(first: Message, receive: Receive) -> Receive:
    """The whole body in one message; then the connection's own events (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return first
        return await receive()

    return replay


def _failing(err: E.ThumbsError) -> Receive:
    """Reading the body raises ``err``, where the application reads it."""

    async def fail() -> Message:
        raise err

    return fail
