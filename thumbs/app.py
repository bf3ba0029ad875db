"""The ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from thumbs import __version__
from thumbs.analytics.router import router as analytics_router
from thumbs.assistants.router import router as assistants_router
from thumbs.auth.router import router as keys_router
from thumbs.chat.router import router as chat_router
from thumbs.config import Settings, get_settings
from thumbs.conversations.router import router as conversations_router
from thumbs.docs.router import router as docs_router
from thumbs.exports.router import router as exports_router
from thumbs.feedback.router import (
    FEEDBACKS_PATH,
    FEEDBACKS_PREFIX,
    FEEDBACKS_SUFFIX,
    create_feedback,
    list_feedbacks_fast,
)
from thumbs.feedback.router import router as feedback_router
from thumbs.golden.router import router as golden_router
from thumbs.health.router import router as health_router
from thumbs.kit import handlers, openapi
from thumbs.kit.body import MAX_BODY_BYTES
from thumbs.kit.compat import GoClientScores
from thumbs.kit.hot import HotRoute, ThumbsAPI
from thumbs.kit.intake import WholeBody
from thumbs.review.router import router as review_router
from thumbs.review.thumbs_router import router as thumbs_router
from thumbs.runtime import Runtime, served_settings
from thumbs.store import migrate
from thumbs.users.router import router as users_router
from thumbs.web.app import MAX_FORM_BYTES, create_console

log = logging.getLogger("thumbs")

DESCRIPTION = """Human feedback on AI-assistant responses.

The `/v1/Assistants` and `/v1/Assistants/{id}/Feedbacks` resources are wire-compatible with
Twilio AI Assistants: HTTP Basic auth with an Account SID and Auth Token (or an API Key SID
and secret), JSON bodies, Twilio's list envelope and paging, Twilio's error body.
Every error has a stable `code`; its page is at `/errors/{code}`.

Beyond Twilio: sessions and messages logged by applications that run their own model,
thumbs up/down per end user (`X-Thumbs-Identity` names the user a request acts for), the
feedback lifecycle and its review, and the golden examples that approved feedback yields.
"""


_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class SchemaOutOfDate(RuntimeError):
    pass


def prepare_database(runtime: Runtime) -> None:
    url = runtime.store.url
    if migrate.pending(runtime.store.engine, url):
        if not runtime.settings.auto_migrate:
            raise SchemaOutOfDate(
                "The database schema is not up to date. Run `thumbs db upgrade` "
                "(or set THUMBS_AUTO_MIGRATE=true) and start again."
            )
        log.info("applying database migrations")
        migrate.upgrade(url)


def configure_logging(level: str) -> None:
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())


def create_served_app() -> ThumbsAPI:
    """The app ``thumbs serve`` runs in each server process (uvicorn's factory): there
    ``THUMBS_WRITER_MODE=auto`` writes the creates' batches in a writer process of the
    server's own (``thumbs.runtime.served_settings``)."""
    return create_app(served_settings(get_settings()))


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, hot_routes: bool = True
) -> ThumbsAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    console = create_console()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime.build(settings)
        prepare_database(rt)
        rt.start()
        # one HTTP client per process for OpenAI-compatible responders: connections (and
        # TLS sessions) to a model endpoint are reused from one question to the next
        rt.http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        app.state.runtime = rt
        console.state.runtime = rt
        try:
            yield
        finally:
            # the server has stopped taking requests and answered those in flight: write
            # what the writer still holds before the store is closed
            await rt.writer.drain()
            await rt.http.aclose()
            rt.http = None
            rt.stop()

    app = ThumbsAPI(
        title="thumbs",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        # FastAPI's own OpenTelemetry instrumentation, only when asked for (THUMBS_TELEMETRY)
        telemetry=None if settings.telemetry else _NO_TELEMETRY,
    )
    # Every body is received in full before any handler runs (console forms may be larger).
    app.add_middleware(WholeBody, limit=MAX_BODY_BYTES, limits=[("/console/", MAX_FORM_BYTES)])
    handlers.install(app)
    app.add_middleware(GoClientScores)
    # The feedback create route is the hot path: it is served by a plain Starlette route
    # placed first (FastAPI's per-route machinery costs more than the handler itself); the
    # FastAPI route of the same handler stays for the OpenAPI description and validation.
    app.router.routes.insert(
        0, Route(FEEDBACKS_PATH, create_feedback, methods=["POST"], include_in_schema=False)
    )
    # The Twilio list is the hot read: served the same way (its FastAPI route documents it).
    listing = Route(FEEDBACKS_PATH, list_feedbacks_fast, methods=["GET"], include_in_schema=False)
    listing.methods = {"GET"}  # like the FastAPI route: no HEAD
    app.router.routes.insert(1, listing)
    if hot_routes and not settings.telemetry:
        # both served ahead of the middleware stack too, where nothing else is on their way
        # (thumbs.kit.hot); the routes above serve the requests that are not
        app.serve_hot(
            [
                HotRoute("POST", FEEDBACKS_PREFIX, FEEDBACKS_SUFFIX, "id", create_feedback),
                HotRoute("GET", FEEDBACKS_PREFIX, FEEDBACKS_SUFFIX, "id", list_feedbacks_fast),
            ],
            body_limit=MAX_BODY_BYTES,
        )
    app.include_router(feedback_router)
    app.include_router(assistants_router)
    app.include_router(conversations_router)
    app.include_router(users_router)
    app.include_router(thumbs_router)
    app.include_router(review_router)
    app.include_router(golden_router)
    app.include_router(chat_router)
    app.include_router(keys_router)
    app.include_router(analytics_router)
    app.include_router(exports_router)
    app.include_router(docs_router)
    app.include_router(health_router)
    openapi.install(app)
    app.mount("/console", console, name="console")

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/console/", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return RedirectResponse("/console/static/favicon.svg", status_code=308)

    return app
