"""How ``thumbs serve`` runs uvicorn: its options, and the limits on what a client sends
that uvicorn lacks.

What uvicorn 0.54 offers is used as it is: a cap on open connections (``limit_concurrency``:
beyond it, new requests are answered 503, in thumbs' error body with ``Retry-After``) and
the idle time allowed between two requests on a kept-alive connection
(``timeout_keep_alive``, 5 s). Its httptools protocol has no limit
on the size of a request's line and headers and no time limit for receiving them or the
body (h11's ``max_incomplete_event_size`` is a size limit for the slower h11 protocol only):
a 16 MiB header was accepted, and a client that opened a connection and then sent nothing,
or a byte now and then, held it forever. ``LimitedHttpToolsProtocol`` adds these limits.
They live here, not in the application, because here they cost nothing to a request that
arrives in one read (the usual case): a timer is armed only for a request still incomplete
after a read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from thumbs.config import Settings, get_settings
from thumbs.kit import errors as E


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options of ``uvicorn.run`` that carry thumbs' limits."""
    return {
        "http": f"{__name__}:LimitedHttpToolsProtocol",
        "limit_concurrency": settings.max_connections,
    }


class _HeadTooLarge(Exception):
    pass


_OVER_CAPACITY = E.StoreUnavailable("The server has too many open connections; retry shortly")


async def over_capacity(scope: Any, receive: Any, send: Any) -> None:
    """What a request beyond the connection cap gets instead of uvicorn's plain-text 503:
    thumbs' error body and ``Retry-After``, like every other 503."""
    body = orjson.dumps(_OVER_CAPACITY.body(""))
    headers = [
        (k.lower().encode("ascii"), v.encode("ascii"))
        for k, v in (_OVER_CAPACITY.headers or {}).items()
    ]
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size limit for the request line and headers
    (THUMBS_MAX_HEADER_BYTES, 431) and time limits for receiving them
    (THUMBS_HEADER_TIMEOUT) and the body (THUMBS_BODY_TIMEOUT), 408 when late.

    Size: the bytes received while a head is incomplete are counted as they arrive (so a
    huge header is cut before it is buffered), and the complete head is measured exactly.
    Time for the head: from the connection's opening, or from the first byte of a request
    whose head did not arrive in one read; a connection that sent nothing is just closed.
    Time for the body: from the end of the head, for a body that did not come with it. The
    application sees a request only once its body is complete (``thumbs.kit.intake``), so a
    late body is answered here; a request answered before its body ended (413) loses its
    connection when the time is up."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_head = settings.max_header_bytes
        self.head_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None
        self.reading_head = True  # the next bytes belong to a request's line and headers
        self.head_started = False  # some of them have arrived
        self.head_bytes = 0
        self.head_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_head:
            self.head_bytes += len(data)
        # uvicorn's own data_received, with the head too large answered 431
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.head_too_large:
                self._head_too_large()
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.reading_head:
            if not self.head_started:
                return
            if self.head_bytes > self.max_head:
                self._head_too_large()
            elif self.head_timer is None:
                self._arm_head_timer()
        elif self.body_timer is None:  # the head is in, the body is not complete
            self.body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_started = True

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self.reading_head = self.head_started = False
        self.head_bytes = 0
        size = len(self.url)
        for name, value in self.headers:
            size += len(name) + len(value) + 4  # ": " and CRLF
        if size > self.max_head:
            self.head_too_large = True
            raise _HeadTooLarge  # the parser stops; data_received answers 431
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._cancel_body_timer()
        self.reading_head = True
        self.head_bytes = 0

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        # uvicorn answers a request beyond ``limit_concurrency`` with its own app
        super()._start_asgi_task(cycle, over_capacity if app is service_unavailable else app)

    def _arm_head_timer(self) -> None:
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _cancel_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def _body_timed_out(self) -> None:
        self.body_timer = None
        if self.transport.is_closing():
            return
        self.logger.info("%s: the request body did not arrive in time", self._peer())
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # answered already: the rest of the body is not awaited
            return
        self._refuse(
            408,
            E.ThumbsError(
                E.REQUEST_TIMEOUT,
                f"The request body did not arrive within {self.body_timeout:g} seconds",
                field="body",
            ),
        )

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined request's head is late while the one before it is answered
            self.cycle.keep_alive = False
        elif self.head_started:
            self.logger.info("%s: the request headers did not arrive in time", self._peer())
            self._refuse(
                408,
                E.ThumbsError(
                    E.REQUEST_TIMEOUT,
                    f"The request headers did not arrive within {self.head_timeout:g} seconds",
                ),
            )
        else:
            self.transport.close()

    def _head_too_large(self) -> None:
        self._cancel_head_timer()
        self.logger.info("%s: request headers larger than %d bytes", self._peer(), self.max_head)
        self._refuse(
            431,
            E.ThumbsError(
                E.HEADERS_TOO_LARGE,
                f"The request line and headers are larger than {self.max_head} bytes",
            ),
        )

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"

    def _refuse(self, status: int, err: E.ThumbsError) -> None:
        """Answer ``err`` in thumbs' error body (its page is on this server: the request's
        Host may be unknown) and close the connection."""
        body = orjson.dumps(err.body(""))
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
            ]
        )
        self.transport.write(b"".join(head) + body)
        self.transport.close()
