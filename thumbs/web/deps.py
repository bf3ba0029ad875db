"""The console's named dependencies: who is signed in, CSRF-checked form posts, admins."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends
from starlette.requests import Request

from thumbs.auth import console
from thumbs.auth.console import ConsoleUser
from thumbs.kit import errors as E
from thumbs.kit.deps import DbSession

SESSION_COOKIE = "thumbs_session"
LOGIN_CSRF_COOKIE = "thumbs_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def base_path(request: Request) -> str:
    """Where the console is mounted (``/console`` behind any root path)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


class LoginRequired(Exception):
    """No valid session: the console answers with a redirect to its sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


class CsrfRejected(E.ThumbsError):
    def __init__(self) -> None:
        super().__init__(
            E.CSRF_REJECTED,
            "This form was sent without a valid form token. Reload the page and try again.",
            field=CSRF_FIELD,
        )


def optional_user(request: Request, session: DbSession) -> ConsoleUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return console.session_user(session, token=token)


def _return_to(request: Request) -> str:
    """Where to come back after signing in: the page asked for, or (for a form posted with
    no session left) the console page the form was on."""
    if request.method == "GET":
        return request.url.path + ("?" + request.url.query if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith(base_path(request) + "/"):
        return referer.path + ("?" + referer.query if referer.query else "")
    return base_path(request) + "/"


def current_user(
    request: Request, user: Annotated[ConsoleUser | None, Depends(optional_user)]
) -> ConsoleUser:
    if user is None:
        raise LoginRequired(_return_to(request))
    return user


CurrentUser = Annotated[ConsoleUser, Depends(current_user)]
MaybeUser = Annotated[ConsoleUser | None, Depends(optional_user)]


async def sent_csrf_token(request: Request) -> str | None:
    """The token a POST carries: the X-CSRF-Token header (scripts) or the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def checked_user(request: Request, user: CurrentUser) -> ConsoleUser:
    """A signed-in user whose POST carries the CSRF token of their session."""
    if not console.same(await sent_csrf_token(request), user.csrf_token):
        raise CsrfRejected()
    return user


CheckedUser = Annotated[ConsoleUser, Depends(checked_user)]


def admin_user(user: CheckedUser) -> ConsoleUser:
    if not user.is_admin:
        raise E.Forbidden("Only an admin can change this")
    return user


CheckedAdmin = Annotated[ConsoleUser, Depends(admin_user)]


def admin_viewer(user: CurrentUser) -> ConsoleUser:
    """A signed-in admin reading an admin-only page (members get the 403 page)."""
    if not user.is_admin:
        raise E.Forbidden("Only an admin can see this page.")
    return user


AdminViewer = Annotated[ConsoleUser, Depends(admin_viewer)]
