"""The console's lifecycle screens: the review queue and the golden examples. Thin
handlers over the review and golden services (the same ones the /v1 API calls)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from thumbs.assistants import service as assistants
from thumbs.auth.console import ConsoleUser
from thumbs.auth.service import Principal
from thumbs.conversations import service as conversations
from thumbs.golden import service as golden
from thumbs.kit import errors as E
from thumbs.kit.deps import DbSession
from thumbs.kit.paging import PageParams, page_params
from thumbs.review import service as review
from thumbs.store.models import Assistant, Feedback, GoldenExample, Message
from thumbs.web import service
from thumbs.web.deps import CheckedAdmin, CurrentUser, base_path
from thumbs.web.pages import keyset_links, page

router = APIRouter()

Short = Annotated[str | None, Query(max_length=256)]
Text = Annotated[str, Form(max_length=32_000)]
Note = Annotated[str, Form(max_length=4_000)]
Back = Annotated[str, Form(max_length=2_048)]

NOTICES = {
    "approved": "Approved.",
    "dismissed": "Dismissed.",
    "saved": "Saved.",
    "withdrawn": "Withdrawn.",
}


def reviewer(user: ConsoleUser) -> Principal:
    return user.principal


def _back(request: Request, screen: str, target: str, **query: str) -> RedirectResponse:
    """Back to the screen the form was posted from (its filters kept), with a notice."""
    base = base_path(request) + "/" + screen
    url = target if target.startswith(base) and "\\" not in target else base
    joiner = "&" if "?" in url else "?"
    return RedirectResponse(url + joiner + urlencode(query), status_code=303)


# -- review queue ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueItem:
    feedback: Feedback
    assistant: str
    before: list[dict[str, str]]
    reply: Message | None
    after: list[dict[str, str]]


def _queue_items(
    session: Session, feedbacks: list[Feedback], names: dict[int, Assistant]
) -> list[QueueItem]:
    """The queue's items with their conversations: a few queries for the whole page."""
    pks = {f.message_pk for f in feedbacks if f.message_pk is not None}
    messages = (
        {m.pk: m for m in session.scalars(select(Message).where(Message.pk.in_(pks)))}
        if pks
        else {}
    )
    # up to six turns before the rated reply, and two after it (the user's reaction)
    around = conversations.turns_around(session, reply_pks=messages.keys(), before=6, after=2)
    items = []
    for f in feedbacks:
        reply = messages.get(f.message_pk) if f.message_pk is not None else None
        before, after = around[reply.pk] if reply else ([], [])
        named = names.get(f.assistant_pk)
        items.append(QueueItem(f, named.name if named else "?", before, reply, after))
    return items


@router.get("/review")
def review_queue(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    params: Annotated[PageParams, Depends(page_params)],
    assistant: Short = None,
    type: Short = None,
    has_reason: Short = None,
    date_from: Short = None,
    date_to: Short = None,
    done: Short = None,
) -> Response:
    explorer = service.explorer_filters(
        session,
        account_pk=user.account_pk,
        assistant_id=assistant,
        status=None,
        feedback_type=type if type in ("positive", "negative", None, "") else "invalid",
        channel=None,
        session_id=None,
        date_from=date_from,
        date_to=date_to,
    )
    filters = review.QueueFilters(
        assistant_pk=explorer.assistant_pk,
        feedback_type=explorer.feedback_type,
        has_reason={"yes": True, "no": False}.get(has_reason or ""),
        created_after=explorer.created_from,
        created_before=explorer.created_until,
    )
    result = review.queue_page(session, account_pk=user.account_pk, filters=filters, params=params)
    names = service.assistant_names(
        session, account_pk=user.account_pk, pks={f.assistant_pk for f in result.items}
    )
    older, newer = keyset_links(request, result)
    error = (
        "Someone decided on that feedback meanwhile; it is no longer pending."
        if done == "conflict"
        else None
    )
    return page(
        request,
        "review.html",
        user=user,
        active="review",
        items=_queue_items(session, list(result.items), names),
        assistants=service.assistants(session, account_pk=user.account_pk),
        form={
            "assistant": assistant or "",
            "type": type or "",
            "has_reason": has_reason or "",
            "date_from": date_from or "",
            "date_to": date_to or "",
        },
        back=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        older=older,
        newer=newer,
        notice=NOTICES.get(done or ""),
        error=error,
    )


def _decide(
    request: Request,
    session: Session,
    user: service.ConsoleUser,
    feedback_id: str,
    back: str,
    decide: Any,
) -> Response:
    fb = review.get_feedback(session, account_pk=user.account_pk, feedback_id=feedback_id)
    try:
        done = decide(fb)
    except E.ThumbsError as err:
        if err.code != E.INVALID_TRANSITION:
            raise
        session.rollback()
        return _back(request, "review", back, done="conflict")
    return _back(request, "review", back, done=done)


@router.post("/review/{feedback_id}/approve")
def approve(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    feedback_id: str,
    corrected_response: Text = "",
    note: Note = "",
    back: Back = "",
) -> Response:
    def decide(fb: Feedback) -> str:
        original = ""
        if fb.message_pk is not None:
            reply = session.get(Message, fb.message_pk)
            original = reply.content if reply is not None else ""
        corrected = corrected_response.replace("\r\n", "\n")
        review.approve(
            session,
            feedback=fb,
            actor=reviewer(user),
            corrected_response=corrected if corrected.strip() and corrected != original else None,
            note=note.strip() or None,
        )
        return "approved"

    return _decide(request, session, user, feedback_id, back, decide)


@router.post("/review/{feedback_id}/dismiss")
def dismiss(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    feedback_id: str,
    note: Note = "",
    back: Back = "",
) -> Response:
    def decide(fb: Feedback) -> str:
        review.dismiss(session, feedback=fb, actor=reviewer(user), note=note.strip() or None)
        return "dismissed"

    return _decide(request, session, user, feedback_id, back, decide)


# -- golden examples ---------------------------------------------------------------------------


@router.get("/golden")
def golden_examples(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    params: Annotated[PageParams, Depends(page_params)],
    assistant: Short = None,
    status: Short = None,
    q: Short = None,
    done: Short = None,
) -> Response:
    pk = None
    if assistant:
        pk = service.assistant(session, account_pk=user.account_pk, assistant_id=assistant).pk
    if status not in (None, "", "active", "withdrawn"):
        raise E.InvalidField(E.INVALID_VALUE, "status", "status is active or withdrawn")
    filters = golden.Filters(
        assistant_pk=pk, status=status or None, search=(q or "").strip() or None
    )
    result = golden.list_page(session, account_pk=user.account_pk, filters=filters, params=params)
    pairs = golden.list_pairs(
        session,
        account_pk=user.account_pk,
        assistant_pk=pk,
        status=None,
        params=PageParams(page_size=20, page=0, cursor=None),
    )
    names = service.assistant_names(
        session,
        account_pk=user.account_pk,
        pks={g.assistant_pk for g in result.items} | {p.assistant_pk for p in pairs.items},
    )
    older, newer = keyset_links(request, result)
    return page(
        request,
        "golden.html",
        user=user,
        active="golden",
        items=result.items,
        pairs=pairs.items,
        names=names,
        assistants=service.assistants(session, account_pk=user.account_pk),
        form={"assistant": assistant or "", "status": status or "", "q": q or ""},
        back=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        older=older,
        newer=newer,
        notice=NOTICES.get(done or ""),
    )


def _golden(session: Session, user: ConsoleUser, golden_id: str) -> GoldenExample:
    return golden.get(session, account_pk=user.account_pk, golden_id=golden_id)


@router.post("/golden/{golden_id}/edit")
def edit_golden(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    golden_id: str,
    output: Text = "",
    back: Back = "",
) -> Response:
    if not output.strip():
        raise E.InvalidField(E.EMPTY_VALUE, "output", "The ideal reply cannot be empty")
    golden.edit(
        session,
        golden=_golden(session, user, golden_id),
        input=None,
        prompt=None,
        output=output.replace("\r\n", "\n"),
    )
    return _back(request, "golden", back, done="saved")


@router.post("/golden/{golden_id}/withdraw")
def withdraw_golden(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    golden_id: str,
    back: Back = "",
) -> Response:
    golden.withdraw(
        session, golden=_golden(session, user, golden_id), reason=f"withdrawn by {user.email}"
    )
    return _back(request, "golden", back, done="withdrawn")


# -- lifecycle settings (shown on the settings page) ---------------------------------------------

ACCOUNT = "account"  # the account default's rows in the settings form
Choices = dict[str, dict[str, dict[str, bool] | None]]


async def lifecycle_form(request: Request) -> Choices:
    """The settings table as sent (a scope's row, or several): per scope (``account`` or an
    assistant id), per type, its two flags (a checkbox sent means on), or None when the
    assistant's type follows the account default (``<scope>.<type>.from`` = ``account``)."""
    form = await request.form()
    choices: Choices = {}
    for key, value in form.multi_items():
        scope, _, rest = key.rpartition(".")
        scope, _, feedback_type = scope.rpartition(".")
        if rest != "from" or feedback_type not in review.FEEDBACK_TYPES or not scope:
            continue
        if value not in ("own", "account") or (value == "account" and scope == ACCOUNT):
            raise E.InvalidField(E.INVALID_VALUE, key, f"{key} is own or account")
        choices.setdefault(scope, {})[feedback_type] = (
            None
            if value == "account"
            else {
                flag: f"{scope}.{feedback_type}.{flag}" in form
                for flag in ("auto_approve", "require_reason")
            }
        )
    return choices


@router.post("/settings/lifecycle")
def save_lifecycle(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    choices: Annotated[Choices, Depends(lifecycle_form)],
) -> Response:
    for scope, values in choices.items():
        assistant = (
            None
            if scope == ACCOUNT
            else assistants.get(session, account_pk=user.account_pk, assistant_id=scope)
        )
        review.put_settings(session, account_pk=user.account_pk, assistant=assistant, values=values)
    anchor = f"#lifecycle-{next(iter(choices))}" if len(choices) == 1 else ""
    return RedirectResponse(
        f"{base_path(request)}/settings?saved=lifecycle{anchor}", status_code=303
    )
