"""The one place where exceptions become HTTP responses."""

from __future__ import annotations

import logging
import traceback

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from thumbs.kit import chars
from thumbs.kit import errors as E
from thumbs.kit.body import error_from_pydantic
from thumbs.kit.dberrors import describe, store_unavailable
from thumbs.kit.urls import base_url

log = logging.getLogger("thumbs.errors")


def render(request: Request, err: E.ThumbsError) -> Response:
    return Response(
        orjson.dumps(err.body(base_url(request))),
        status_code=err.status,
        media_type="application/json",
        headers=err.headers,
    )


async def _thumbs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, E.ThumbsError)
    return render(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"type": "value_error", "loc": (), "msg": "invalid"}
    where = first["loc"][0] if first.get("loc") else "body"
    if where == "path":
        return render(request, E.NotFound("resource", request.url.path))
    if where == "header":
        field = str(first["loc"][-1])
        return render(
            request, E.InvalidField(E.INVALID_VALUE, field, f"Header {field}: {first['msg']}")
        )
    return render(request, error_from_pydantic(first, query=where == "query"))  # type: ignore[arg-type]


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path accepts (Starlette names only the first)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        err = E.ThumbsError(E.NOT_FOUND, f"The requested resource {request.url.path} was not found")
    elif exc.status_code == 405:
        err = E.ThumbsError(
            E.METHOD_NOT_ALLOWED, f"Method {request.method} is not allowed on {request.url.path}"
        )
    elif exc.status_code == 401:
        err = E.Unauthorized("Authentication failed: the Authorization header is malformed")
    else:
        err = E.ThumbsError(E.INTERNAL_ERROR, str(exc.detail))
        err.status = exc.status_code
    if exc.status_code == 405:
        err.headers = {**(err.headers or {}), "Allow": _allowed_methods(request)}
    return render(request, err)


def store_error(request: Request, exc: Exception) -> E.ThumbsError:
    """What a store exception (``DBAPIError`` or a pool wait that timed out) answers, in
    the API and in the console: a store that is busy or unreachable is a 503 the client
    may retry (``Retry-After``); a constraint that a concurrent request (here or in another
    process) got to first is a 409; anything else is a 500. The log line names the
    statement, never its parameters (``hide_parameters``)."""
    where = f"{request.method} {request.url.path}"
    if store_unavailable(exc):
        log.warning("store unavailable on %s: %s", where, describe(exc))
        return E.StoreUnavailable()
    if isinstance(exc, IntegrityError):
        log.info("conflict on %s: %s", where, describe(exc))
        return E.Conflict("A request made at the same time changed this; retry the request")
    # the stack, but not the message: it would carry the values of the row
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("store error on %s: %s\n%s", where, describe(exc), stack)
    return E.ThumbsError(E.INTERNAL_ERROR, "An unexpected error occurred")


async def _store_error(request: Request, exc: Exception) -> Response:
    return render(request, store_error(request, exc))


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client closed the connection before its body arrived: nobody is left to answer,
    and it is not the server's error (one line, no traceback)."""
    log.info("client went away before its whole body: %s %s", request.method, request.url.path)
    return Response(status_code=400)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return render(request, E.ThumbsError(E.INTERNAL_ERROR, "An unexpected error occurred"))


class RefuseNulInUrl:
    """A NUL character in the path or a query parameter is a 400 (code 60016) for every
    route, before routing: no handler ever passes one to a query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                chars.check_url(scope["path"], scope["query_string"])
            except E.ThumbsError as err:
                await render(Request(scope), err)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(E.ThumbsError, _thumbs_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _store_error)
    app.add_exception_handler(PoolTimeout, _store_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RefuseNulInUrl)
