"""The console's pages: thin handlers, one service call each, then a template."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from thumbs.assistants import service as assistants_service
from thumbs.auth import console, members
from thumbs.auth.passwords import ChecksBusy
from thumbs.conversations import service as conversations
from thumbs.feedback import service as feedback
from thumbs.kit import errors as E
from thumbs.kit.deps import DbSession, UnitOfWorkRoute, get_runtime
from thumbs.kit.paging import PageParams, page_params
from thumbs.review import queue
from thumbs.review import service as review
from thumbs.web import service
from thumbs.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CheckedUser,
    CsrfRejected,
    CurrentUser,
    MaybeUser,
    base_path,
)
from thumbs.web.forms import CHANNELS, STATUSES, TYPES, ExplorerForm
from thumbs.web.pages import keyset_links, page

router = APIRouter(route_class=UnitOfWorkRoute)

Short = Annotated[str | None, Query(max_length=256)]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(request: Request, target: str | None) -> str:
    base = base_path(request)
    if (
        target
        and target.startswith(base + "/")
        and not target.startswith("//")
        and "\\" not in target
        and not target.startswith(base + "/login")
    ):
        return target
    return base + "/"


def _cookie_args(request: Request) -> dict[str, object]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
        "path": base_path(request) or "/",
    }


# -- sign-in -------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, user: MaybeUser, next: Short = None) -> Response:
    if user is not None:
        return _redirect(_safe_next(request, next))
    token = console.new_token()
    response = page(request, "login.html", user=None, csrf_token=token, next=next or "", email="")
    return _bound_form(request, response, token)


def _bound_form(request: Request, response: Response, token: str) -> Response:
    """A form used before signing in, bound to this browser: its token in a cookie too
    (checked by :func:`_check_login_form`)."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **_cookie_args(request))  # type: ignore[arg-type]
    return response


def _check_login_form(request: Request, csrf_token: str) -> None:
    if not console.same(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise CsrfRejected()


def _signed_in(request: Request, created: console.NewSession, next: str) -> Response:
    response = _redirect(_safe_next(request, next))
    args = _cookie_args(request)
    max_age = int(get_runtime(request).settings.console_session_ttl)
    response.set_cookie(SESSION_COOKIE, created.token, max_age=max_age, **args)  # type: ignore[arg-type]
    response.delete_cookie(LOGIN_CSRF_COOKIE, **args)  # type: ignore[arg-type]
    return response


def _login_page(
    request: Request,
    *,
    status: int,
    error: str,
    csrf_token: str,
    next: str,
    email: str,
    retry_after: int | None = None,
) -> Response:
    """The sign-in form again, saying why (the email kept, never the password)."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return page(
        request,
        "login.html",
        user=None,
        status=status,
        headers=headers,
        csrf_token=csrf_token,
        next=next,
        email=email,
        error=error,
    )


def _wait_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" + ("s" if minutes > 1 else "")


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    _check_login_form(request, csrf_token)
    runtime = get_runtime(request)
    outcome = await runtime.signin.sign_in(
        runtime.store,
        email=email,
        password=password,
        address=request.client.host if request.client else None,
        login_token=csrf_token,
    )
    if isinstance(outcome, console.SignedIn):
        return _signed_in(request, outcome.created, next)
    if isinstance(outcome, console.ChooseAccount):
        return page(
            request,
            "choose_account.html",
            user=None,
            csrf_token=csrf_token,
            next=next,
            ticket=outcome.ticket,
            accounts=outcome.accounts,
        )
    if isinstance(outcome, console.TryLater):
        wait = math.ceil(outcome.retry_after)
        error = (
            f"Too many failed sign-ins. Try again in {_wait_text(outcome.retry_after)}."
            if outcome.throttled
            else "Many sign-ins are being checked right now. Try again in a moment."
        )
        status = 429 if outcome.throttled else 503
        return _login_page(
            request,
            status=status,
            error=error,
            csrf_token=csrf_token,
            next=next,
            email=email,
            retry_after=wait,
        )
    return _login_page(
        request,
        status=401,
        error="Email or password is wrong.",
        csrf_token=csrf_token,
        next=next,
        email=email,
    )


@router.post("/login/account")
async def login_account(
    request: Request,
    ticket: Annotated[str, Form(max_length=8192)] = "",
    account: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """The account picked after a password that opens several (see ``auth.console``)."""
    _check_login_form(request, csrf_token)
    runtime = get_runtime(request)
    created = await runtime.signin.choose(
        runtime.store, ticket=ticket, account_sid=account, login_token=csrf_token
    )
    if created is None:
        return _login_page(
            request,
            status=401,
            error="That choice has expired. Sign in again.",
            csrf_token=csrf_token,
            next=next,
            email="",
        )
    return _signed_in(request, created, next)


# -- set-password links (an invitation or a reset, see ``auth.members``) --------------------

Token = Annotated[str, Path(max_length=128)]


def _password_page(
    request: Request, *, token: str, email: str, csrf_token: str, status: int = 200, error: str = ""
) -> Response:
    return page(
        request,
        "set_password.html",
        user=None,
        status=status,
        token=token,
        email=email,
        csrf_token=csrf_token,
        error=error or None,
        min_length=console.MIN_PASSWORD,
    )


def _link_gone(request: Request) -> Response:
    return page(
        request,
        "error.html",
        user=None,
        status=404,
        title="This link does not work any more",
        message="A set-password link works once, for a limited time. Ask an admin of your "
        "account for a new one.",
        code=E.NOT_FOUND,
    )


@router.get("/password/{token}")
def password_form(request: Request, session: DbSession, token: Token) -> Response:
    found = members.linked_user(session, token=token)
    if found is None:
        return _link_gone(request)
    csrf = console.new_token()
    response = _password_page(request, token=token, email=found.email or "", csrf_token=csrf)
    return _bound_form(request, response, csrf)


@router.post("/password/{token}")
async def set_password(
    request: Request,
    token: Token,
    password: Annotated[str, Form(max_length=1024)] = "",
    repeat: Annotated[str, Form(max_length=1024)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Choose a password with the link: signed in on success (every other session of the
    user ends)."""
    _check_login_form(request, csrf_token)
    runtime = get_runtime(request)

    def again(error: str, status: int = 400) -> Response:
        return _password_page(
            request, token=token, email=email, csrf_token=csrf_token, status=status, error=error
        )

    if password != repeat:
        return again("The two passwords differ.")
    try:
        created = await members.use_link(
            runtime.store,
            runtime.signin.checks,
            token=token,
            password=password,
            ttl=runtime.settings.console_session_ttl,
        )
    except E.InvalidField as err:
        return again(err.message)
    except ChecksBusy:
        return again("Many passwords are being checked right now. Try again in a moment.", 503)
    if created is None:
        return _link_gone(request)
    return _signed_in(request, created, base_path(request) + "/")


@router.post("/logout")
def logout(request: Request, session: DbSession, user: CheckedUser) -> Response:
    console.sign_out(session, token=request.cookies.get(SESSION_COOKIE, ""))
    response = _redirect(base_path(request) + "/login")
    response.delete_cookie(SESSION_COOKIE, **_cookie_args(request))  # type: ignore[arg-type]
    return response


@router.get("/")
def home(request: Request, user: CurrentUser) -> Response:
    return _redirect(base_path(request) + "/simulator")


# -- the Simulator ---------------------------------------------------------------------------


@router.get("/simulator")
def simulator(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    session_id: Annotated[str | None, Query(alias="session", max_length=256)] = None,
    assistant: Short = None,
) -> Response:
    """The chat; ``?session=…&assistant=…`` resumes a session (its logged messages)."""
    assistants = assistants_service.all_by_name(session, account_pk=user.account_pk)
    reasons = {
        a.pk: review.reason_required(session, account_pk=user.account_pk, assistant=a)
        for a in assistants
    }
    view = None
    if session_id:
        view = conversations.session_view(
            session, account_pk=user.account_pk, session_id=session_id, assistant_id=assistant
        )
    chosen = assistant
    if view is not None and chosen is None and view.messages:
        chosen = next((a.id for a in assistants if a.pk == view.messages[0].assistant_pk), None)
    return page(
        request,
        "simulator.html",
        user=user,
        active="simulator",
        assistants=assistants,
        reasons=reasons,
        view=view,
        chosen=chosen,
        recent=conversations.recent_sessions(
            session, account_pk=user.account_pk, identity=user.identity
        ),
    )


# -- feedback explorer ---------------------------------------------------------------------


@router.get("/feedback")
def feedback_explorer(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    params: Annotated[PageParams, Depends(page_params)],
    form: ExplorerForm,
) -> Response:
    result = feedback.list_page(session, where=form.where, params=params)
    names = service.assistant_names(
        session, account_pk=user.account_pk, pks={f.assistant_pk for f in result.items}
    )
    older, newer = keyset_links(request, result)
    return page(
        request,
        "feedback.html",
        user=user,
        active="feedback",
        pending=queue.pending_count(session, account_pk=user.account_pk),
        items=result.items,
        exchanges=conversations.exchanges(
            session, message_pks={f.message_pk for f in result.items if f.message_pk is not None}
        ),
        names=names,
        assistants=service.assistants(session, account_pk=user.account_pk),
        form=form.shown,
        statuses=STATUSES,
        types=TYPES,
        channels=CHANNELS,
        older=older,
        newer=newer,
    )


@router.get("/sessions/{session_id:path}")
def session_detail(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    session_id: str,
    assistant: Short = None,
) -> Response:
    if len(session_id) > 256:
        raise E.NotFound("Session", session_id[:64] + "…")
    view = conversations.session_view(
        session, account_pk=user.account_pk, session_id=session_id, assistant_id=assistant
    )
    return page(request, "session.html", user=user, active="feedback", view=view)


# -- settings ------------------------------------------------------------------------------


@router.get("/settings")
def settings(
    request: Request, session: DbSession, user: CurrentUser, saved: Short = None
) -> Response:
    assistants = assistants_service.all_by_name(session, account_pk=user.account_pk)
    return page(
        request,
        "settings.html",
        user=user,
        active="settings",
        lifecycle=review.settings_by_scope(
            session, account_pk=user.account_pk, assistants=assistants
        ),
        notice="Feedback settings saved." if saved else None,
    )
