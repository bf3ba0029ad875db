"""The console's account pages: assistants (create, rename, responder, delete), console users
and API keys (admins only). Thin handlers over the domains' services, the same ones the /v1
API and the CLI call: ``thumbs.assistants``, ``thumbs.auth.members``, ``thumbs.auth.service``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from thumbs.assistants import service as assistants
from thumbs.assistants.schemas import AssistantCreate, AssistantUpdate, ResponderSettings
from thumbs.auth import members
from thumbs.auth import service as auth
from thumbs.auth.console import ConsoleUser
from thumbs.kit import errors as E
from thumbs.kit.body import validate_fields
from thumbs.kit.deps import DbSession, UnitOfWorkRoute, get_runtime
from thumbs.web.deps import AdminViewer, CheckedAdmin, CurrentUser, base_path
from thumbs.web.forms import AssistantForm, Choice, Name
from thumbs.web.pages import page

router = APIRouter(route_class=UnitOfWorkRoute)

Done = Annotated[str | None, Query(max_length=32)]

NOTICES = {
    "created": "Assistant created.",
    "saved": "Assistant saved.",
    "deleted": "Assistant deleted.",
    "role": "Role changed.",
    "deactivated": "Deactivated: they are signed out and cannot sign in.",
    "reactivated": "Reactivated: they can sign in again with their password.",
    "revoked": "Key revoked: it authenticates nothing any more.",
}
REFUSALS = (E.InvalidField, E.Conflict)  # shown on the page with the form kept


def origin(request: Request) -> str:
    """Scheme and host the console was reached at (the links it hands out start so)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _done(request: Request, screen: str, done: str, anchor: str = "") -> RedirectResponse:
    url = f"{base_path(request)}/{screen}?done={done}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(url, status_code=303)


@dataclass(frozen=True, slots=True)
class Shown:
    """What a page shows besides its rows: a notice, or the refusal of a form (``error_for``
    names the form: ``new``, an assistant id or a user SID) with what was typed kept."""

    status: int = 200
    error: str | None = None
    error_for: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    notice: str | None = None

    @classmethod
    def refused(
        cls, err: E.ThumbsError, error_for: str, values: dict[str, str] | None = None
    ) -> Shown:
        return cls(err.status, err.message, error_for, values or {})

    @classmethod
    def done(cls, done: str | None) -> Shown:
        return cls(notice=NOTICES.get(done or ""))


# -- assistants ----------------------------------------------------------------------------


def _assistants_page(
    request: Request,
    session: Session,
    user: ConsoleUser,
    shown: Shown,
    *,
    feedback_count: int | None = None,
) -> Response:
    found = assistants.all_by_name(session, account_pk=user.account_pk)
    return page(
        request,
        "assistants.html",
        user=user,
        active="assistants",
        status=shown.status,
        assistants=found,
        key_set={a.pk: assistants.responder_key_is_set(a) for a in found},
        shown=shown,
        error=shown.error,
        notice=shown.notice,
        feedback_count=feedback_count,
    )


@router.get("/assistants")
def assistants_list(
    request: Request, session: DbSession, user: CurrentUser, done: Done = None
) -> Response:
    return _assistants_page(request, session, user, Shown.done(done))


@router.post("/assistants")
def create_assistant(
    request: Request, session: DbSession, user: CheckedAdmin, form: AssistantForm
) -> Response:
    """The API's create (``POST /v1/Assistants``): the same body model, the same service
    (fields left blank are not given)."""
    given: dict[str, Any] = {k: v.strip() for k, v in form.items() if v.strip() or k == "name"}
    try:
        created = assistants.create(
            session, account_pk=user.account_pk, data=validate_fields(AssistantCreate, given)
        )
    except REFUSALS as err:
        session.rollback()
        return _assistants_page(request, session, user, Shown.refused(err, "new", form))
    return _done(request, "assistants", "created", f"assistant-{created.id}")


@router.post("/assistants/{assistant_id}")
def save_assistant(
    request: Request, session: DbSession, user: CheckedAdmin, assistant_id: str, form: AssistantForm
) -> Response:
    """Rename (the API's update) and set the responder as a whole (an emptied field is
    cleared; the rule is ``set_responder``, the API's too)."""
    assistant = assistants.get(session, account_pk=user.account_pk, assistant_id=assistant_id)
    responder = {k: v for k, v in form.items() if k != "name"}
    try:
        assistants.update(
            session,
            assistant=assistant,
            data=validate_fields(AssistantUpdate, {"name": form["name"]}),
        )
        assistants.set_responder(
            session, assistant=assistant, settings=validate_fields(ResponderSettings, responder)
        )
    except REFUSALS as err:
        session.rollback()
        return _assistants_page(request, session, user, Shown.refused(err, assistant_id, form))
    return _done(request, "assistants", "saved", f"assistant-{assistant_id}")


@router.post("/assistants/{assistant_id}/delete")
def delete_assistant(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    assistant_id: str,
    cascade: Choice = "",
) -> Response:
    """The API's delete: refused while the assistant has feedback (the API's 409 and its
    message), unless the deletion of its feedback is confirmed (``Cascade=true``)."""
    assistant = assistants.get(session, account_pk=user.account_pk, assistant_id=assistant_id)
    try:
        assistants.remove(session, assistant=assistant, cascade=cascade == "true")
    except E.Conflict as err:
        session.rollback()
        return _assistants_page(
            request,
            session,
            user,
            Shown.refused(err, f"delete-{assistant_id}"),
            feedback_count=err.details.get("feedback_count"),
        )
    return _forget(get_runtime(request).assistants, _done(request, "assistants", "deleted"))


# -- console users (admins) -----------------------------------------------------------------


def _users_page(
    request: Request,
    session: Session,
    user: ConsoleUser,
    shown: Shown,
    *,
    link: members.NewLink | None = None,
) -> Response:
    return page(
        request,
        "users.html",
        user=user,
        active="users",
        status=shown.status,
        members=members.members(session, account_pk=user.account_pk),
        roles=("member", "admin"),
        shown=shown,
        error=shown.error,
        notice=shown.notice,
        link=link,
        link_url=f"{origin(request)}{base_path(request)}/password/{link.token}" if link else None,
        link_hours=int(members.LINK_TTL.total_seconds() // 3600),
    )


@router.get("/users")
def users_list(
    request: Request, session: DbSession, user: AdminViewer, done: Done = None
) -> Response:
    return _users_page(request, session, user, Shown.done(done))


@router.post("/users")
def invite_user(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    email: Name = "",
    role: Choice = "member",
) -> Response:
    """A new console user and their one-time set-password link, shown once on this page."""
    try:
        link = members.invite(session, account_pk=user.account_pk, email=email, role=role)
    except REFUSALS as err:
        session.rollback()
        values = {"email": email, "role": role}
        return _users_page(request, session, user, Shown.refused(err, "new", values))
    return _users_page(request, session, user, Shown(), link=link)


def _change(
    request: Request, session: Session, user: ConsoleUser, sid: str, done: str, change: Any
) -> Response:
    """Apply ``change`` to the account's console user ``sid``: back to the list with a
    notice, or the page again with the refusal in that user's row."""
    target = members.get(session, account_pk=user.account_pk, sid=sid)
    try:
        result = change(target)
    except REFUSALS as err:
        session.rollback()
        return _users_page(request, session, user, Shown.refused(err, sid))
    if isinstance(result, members.NewLink):
        return _users_page(request, session, user, Shown(), link=result)
    return _done(request, "users", done, f"user-{sid}")


@router.post("/users/{user_sid}/role")
def change_role(
    request: Request, session: DbSession, user: CheckedAdmin, user_sid: str, role: Choice = ""
) -> Response:
    response = _change(
        request,
        session,
        user,
        user_sid,
        "role",
        lambda u: members.set_role(session, user=u, role=role),
    )
    if user_sid == user.user_sid and role != "admin" and response.status_code == 303:
        # no longer an admin: the users page is not theirs any more
        return RedirectResponse(f"{base_path(request)}/", status_code=303)
    return response


@router.post("/users/{user_sid}/deactivate")
def deactivate_user(
    request: Request, session: DbSession, user: CheckedAdmin, user_sid: str
) -> Response:
    return _change(
        request,
        session,
        user,
        user_sid,
        "deactivated",
        lambda u: members.deactivate(session, user=u, by_user_pk=user.user_pk),
    )


@router.post("/users/{user_sid}/reactivate")
def reactivate_user(
    request: Request, session: DbSession, user: CheckedAdmin, user_sid: str
) -> Response:
    return _change(
        request,
        session,
        user,
        user_sid,
        "reactivated",
        lambda u: members.reactivate(session, user=u),
    )


@router.post("/users/{user_sid}/reset")
def reset_password(
    request: Request, session: DbSession, user: CheckedAdmin, user_sid: str
) -> Response:
    return _change(
        request, session, user, user_sid, "", lambda u: members.reset_password(session, user=u)
    )


# -- API keys (admins) -----------------------------------------------------------------------


@router.get("/keys")
def keys_list(
    request: Request, session: DbSession, user: AdminViewer, done: Done = None
) -> Response:
    return page(
        request,
        "keys.html",
        user=user,
        active="keys",
        keys=auth.all_api_keys(session, account_pk=user.account_pk),
        notice=NOTICES.get(done or ""),
    )


@router.post("/keys/{key_sid}/revoke")
def revoke_key(request: Request, session: DbSession, user: CheckedAdmin, key_sid: str) -> Response:
    key = auth.get_api_key(session, account_pk=user.account_pk, sid=key_sid)
    auth.revoke_api_key(session, key=key)
    return _forget(get_runtime(request).credentials, _done(request, "keys", "revoked"))


class Cache(Protocol):
    def clear(self) -> None: ...


def _forget(cache: Cache, response: Response) -> Response:
    """This process's cache forgets what was just deleted: now, and again once the change is
    committed (a request in between may have cached it anew)."""
    cache.clear()
    response.background = BackgroundTask(cache.clear)
    return response
