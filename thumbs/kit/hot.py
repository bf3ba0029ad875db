"""The hot routes, served past the middleware stack.

Under a realistic create load the way of a request through Starlette's and FastAPI's layers
(the error middleware, thumbs' own middlewares, the exception middleware, the exit stack,
the router's matching, the route's exception wrapper) cost a realistic create about a fifth
of its CPU (bench/README.md). A few routes carry nearly all the traffic (the feedback create
and the Twilio list), so :class:`ThumbsAPI` serves them directly: the same endpoint, the
same body intake (:class:`~thumbs.kit.intake.WholeBody`), the same exception handlers looked
up the way Starlette looks them up, and, for an exception no handler takes, the app's
handler of last resort, then the exception raised on (as Starlette's error middleware does).

It takes a request only when the full stack would route it to the same endpoint with
nothing else to do on the way. Everything else goes the usual way, untouched: a path that
is not exactly the route's shape, a method the route does not serve, a NUL in the URL
(``RefuseNulInUrl`` answers it), a caller whose answers are rewritten (the Go library,
``GoClientScores``) or a ``root_path``. The app does not serve hot routes when FastAPI's
telemetry is on (``THUMBS_TELEMETRY``): its spans cover the middleware stack.
``tests/server/test_hot_routes.py`` sends the same requests to the app with and without the
hot routes and compares the answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from thumbs.kit import chars
from thumbs.kit import errors as E
from thumbs.kit.compat import from_go
from thumbs.kit.intake import WholeBody

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class HotRoute:
    """``{prefix}{one path segment}{suffix}`` (the segment is the path parameter
    ``param``, as Starlette's ``{param}`` matches it), for one method."""

    method: str
    prefix: str
    suffix: str
    param: str
    endpoint: Endpoint

    def match(self, path: str) -> str | None:
        if not (path.startswith(self.prefix) and path.endswith(self.suffix)):
            return None
        value = path[len(self.prefix) : len(path) - len(self.suffix)]
        if not value or "/" in value:
            return None
        return value


class _Handlers:
    """The app's exception handlers, split the way Starlette's middleware stack splits
    them: by status code, by class, and the handler of last resort (500 / Exception)."""

    def __init__(self, handlers: dict[Any, Any]) -> None:
        self.by_status: dict[int, Handler] = {}
        self.by_class: dict[type, Handler] = {}
        self.last_resort: Handler | None = None
        for key, handler in handlers.items():
            if key in (500, Exception):
                self.last_resort = handler
            elif isinstance(key, int):
                self.by_status[key] = handler
            else:
                self.by_class[key] = handler

    def find(self, exc: Exception) -> Handler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self.by_status:
            return self.by_status[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self.by_class:
                return self.by_class[cls]
        return None


class _Serve:
    """One hot request, once its whole body is here: the endpoint, and its exception
    handled as the route's exception wrapper (or the error middleware) would."""

    def __init__(self, app: ThumbsAPI, route: HotRoute, value: str) -> None:
        self.app = app
        self.route = route
        self.value = value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.app
        scope["router"] = self.app.router
        scope["endpoint"] = self.route.endpoint
        scope["path_params"] = {self.route.param: self.value}
        request = Request(scope, receive, send)
        try:
            response = await self.route.endpoint(request)
        except Exception as exc:
            handlers = self.app.hot_handlers()
            handler = handlers.find(exc)
            if handler is not None:
                response = await handler(request, exc)
                exc.__traceback__ = None
            elif handlers.last_resort is not None:
                await (await handlers.last_resort(Request(scope), exc))(scope, receive, send)
                raise
            else:
                raise
        await response(scope, receive, send)


class ThumbsAPI(FastAPI):
    """FastAPI, with :class:`HotRoute` s served ahead of the middleware stack."""

    hot_routes: Sequence[HotRoute] = ()
    hot_body_limit: int = 0
    _hot_handlers: _Handlers | None = None

    def serve_hot(self, routes: Sequence[HotRoute], *, body_limit: int) -> None:
        """Serve ``routes`` directly; their bodies within ``body_limit`` bytes (the limit
        the middleware stack's ``WholeBody`` sets for their paths)."""
        self.hot_routes = tuple(routes)
        self.hot_body_limit = body_limit

    def hot_handlers(self) -> _Handlers:
        if self._hot_handlers is None:
            self._hot_handlers = _Handlers(dict(self.exception_handlers))
        return self._hot_handlers

    def _hot(self, scope: Scope) -> ASGIApp | None:
        if scope["type"] != "http" or scope.get("root_path") or self.root_path:
            return None
        path: str = scope["path"]
        method: str = scope["method"]
        for route in self.hot_routes:
            if route.method != method:
                continue
            value = route.match(path)
            if value is None:
                continue
            if from_go(scope):
                return None  # GoClientScores rewrites the answer
            try:
                chars.check_url(path, scope["query_string"])
            except E.ThumbsError:
                return None  # RefuseNulInUrl answers it
            return WholeBody(_Serve(self, route, value), limit=self.hot_body_limit)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hot_routes:
            hot = self._hot(scope)
            if hot is not None:
                await hot(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
