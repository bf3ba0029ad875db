"""The console sub-application (mounted at ``/console``): its own routes, auth dependency,
HTML error pages, security headers and static files."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from thumbs.auth import console
from thumbs.auth.console import ConsoleUser
from thumbs.kit import chars, handlers
from thumbs.kit import errors as E
from thumbs.kit.body import error_from_pydantic, refuse_repeated_form_fields
from thumbs.kit.dberrors import store_unavailable
from thumbs.kit.deps import get_runtime
from thumbs.web.account_pages import router as account_router
from thumbs.web.admin_pages import router as admin_router
from thumbs.web.analytics_pages import router as analytics_router
from thumbs.web.api import router as api_router
from thumbs.web.deps import SESSION_COOKIE, LoginRequired, base_path
from thumbs.web.pages import HERE, page
from thumbs.web.router import router

log = logging.getLogger("thumbs.web")

# The largest form body the console accepts (its largest field, a golden example's text, is
# 32,000 characters: up to 384 KB percent-encoded).
MAX_FORM_BYTES = 1024 * 1024

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def wants_json(request: Request) -> bool:
    """Scripts (the Simulator's chat) ask for JSON and get the one JSON error body."""
    return request.url.path.startswith(base_path(request) + "/api/") or request.headers.get(
        "accept", ""
    ).startswith("application/json")


def _signed_in_user(request: Request) -> ConsoleUser | None:
    """Who is signed in, so that an error page keeps the navigation (none when the store
    is the problem)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with get_runtime(request).store.sessions() as session:
            return console.session_user(session, token=token)
    except Exception as exc:
        if store_unavailable(exc):
            return None
        raise


async def _error_page(request: Request, err: E.ThumbsError) -> Response:
    if wants_json(request):
        return handlers.render(request, err)
    entry = E.catalogue()[err.code]
    user = await run_in_threadpool(_signed_in_user, request) if err.status < 500 else None
    return page(
        request,
        "error.html",
        user=user,
        status=err.status,
        title=entry.title,
        message=err.message,
        code=err.code,
        headers={**(err.headers or {}), "Cache-Control": "no-store"},
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    sign_in = f"{base_path(request)}/login?{urlencode({'next': exc.next_path})}"
    if wants_json(request):
        # scripts show the sign-in link (console.js), the page they run on kept as "next"
        err = E.ThumbsError(
            E.AUTHENTICATION_FAILED,
            "Sign in to the console first",
            details={"sign_in_url": sign_in},
        )
        return handlers.render(request, err)
    return RedirectResponse(sign_in, status_code=303)


async def _thumbs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, E.ThumbsError)
    return await _error_page(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if errors and errors[0].get("loc", ("",))[0] == "path":
        return await _error_page(request, E.NotFound("page", request.url.path))
    first = errors[0] if errors else {"type": "value_error", "loc": (), "msg": "invalid"}
    where = first["loc"][0] if first.get("loc") else "body"
    return await _error_page(request, error_from_pydantic(first, query=where == "query"))  # type: ignore[arg-type]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, E.ThumbsError):
        # FastAPI reports what failed while it read a form as "error parsing the body"
        return await _error_page(request, exc.__cause__)
    if exc.status_code == 405:
        err = E.ThumbsError(E.METHOD_NOT_ALLOWED, f"Method {request.method} is not allowed here")
    elif exc.status_code == 400:
        # the form parser's limits (fields, size of one field) and malformed forms
        err = E.ThumbsError(E.MALFORMED_BODY, f"The form could not be read: {exc.detail}")
    else:
        err = E.ThumbsError(E.NOT_FOUND, f"There is no page {request.url.path}")
    return await _error_page(request, err)


async def _store_error(request: Request, exc: Exception) -> Response:
    # the API's answer to the same failure (503 with Retry-After, 409 or 500), as a page
    return await _error_page(request, handlers.store_error(request, exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return await _error_page(
        request, E.ThumbsError(E.INTERNAL_ERROR, "An unexpected error occurred")
    )


class SecurityHeaders:
    """The console's security headers on every response, and no caching except of static
    files. Pure ASGI: Starlette's ``BaseHTTPMiddleware`` would wrap an error raised while a
    form is read (too large, too late) in an exception group that no error page handles."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(str(scope.get("root_path", "")).rstrip("/") + "/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


def create_console() -> FastAPI:
    console = FastAPI(
        title="thumbs console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(chars.refuse_nul_in_form), Depends(refuse_repeated_form_fields)],
    )
    console.add_exception_handler(LoginRequired, _login_required)
    console.add_exception_handler(E.ThumbsError, _thumbs_error)
    console.add_exception_handler(RequestValidationError, _validation_error)
    console.add_exception_handler(HTTPException, _http_error)
    console.add_exception_handler(DBAPIError, _store_error)
    console.add_exception_handler(PoolTimeout, _store_error)
    console.add_exception_handler(Exception, _unexpected)
    console.add_middleware(SecurityHeaders)
    console.include_router(router)
    console.include_router(api_router)
    console.include_router(admin_router)
    console.include_router(analytics_router)
    console.include_router(account_router)
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return console
