"""The console's lifecycle screens: the review queue and the golden examples. Thin
handlers over the review and golden services (the same ones the /v1 API calls)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from thumbs.assistants import service as assistants
from thumbs.auth.console import ConsoleUser
from thumbs.auth.service import Principal
from thumbs.golden import service as golden
from thumbs.kit import errors as E
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.paging import PageParams, page_params
from thumbs.review import queue
from thumbs.review import service as review
from thumbs.store.models import Feedback, GoldenExample
from thumbs.users import service as users
from thumbs.web import service
from thumbs.web.deps import CheckedAdmin, CurrentUser, base_path
from thumbs.web.forms import ACCOUNT, Back, Decision, LifecycleChoices, QueueForm, Text
from thumbs.web.pages import keyset_links, page

router = APIRouter(route_class=UnitOfWorkRoute)

Short = Annotated[str | None, Query(max_length=256)]

NOTICES = {
    "approved": "Approved.",
    "approved_nothing": "Approved, without a correction: no golden example was made.",
    "approved_golden": "Approved: the reply is now a golden example.",
    "approved_golden_and_pair": (
        "Approved with your correction: a golden example and a preference pair were made."
    ),
    "dismissed": "Dismissed.",
    "saved": "Saved.",
    "withdrawn": "Withdrawn: responders no longer use it. Reinstate it to use it again.",
    "reinstated": "Reinstated: responders use it again.",
}


# What an approval will make, said before the click (review.js swaps the two sentences when
# the correction is edited); the rule is golden.approval_makes.
EFFECTS = {
    "nothing": "Approve without a correction: no golden example is made.",
    "golden": "Approve as is: the reply becomes a golden example.",
    "edited_nothing": "Approve: no golden example is made (the reply is not logged here).",
    "edited_golden": "Approve with your correction: it becomes a golden example.",
    "edited_golden_and_pair": (
        "Approve with your correction: creates a golden example and a preference pair."
    ),
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


@router.get("/review")
def review_queue(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    params: Annotated[PageParams, Depends(page_params)],
    form: QueueForm,
    done: Short = None,
) -> Response:
    result = queue.queue_page(session, where=form.where, params=params)
    names = service.assistant_names(
        session, account_pk=user.account_pk, pks={f.assistant_pk for f in result.items}
    )
    people = users.shown_names(
        session,
        account_pk=user.account_pk,
        pks={f.user_pk for f in result.items if f.user_pk is not None},
    )
    older, newer = keyset_links(request, result)
    error = (
        "Someone decided on that feedback meanwhile, or changed it: it is no longer pending "
        "as you saw it. Look at it again before deciding."
        if done == "conflict"
        else None
    )
    return page(
        request,
        "review.html",
        user=user,
        active="review",
        items=queue.in_context(session, result.items),
        progress=queue.progress(
            session, where=form.where, first_pk=result.items[0].pk if result.items else None
        ),
        names=names,
        people=people,
        pending=queue.pending_count(session, account_pk=user.account_pk),
        makes=golden.approval_makes,
        effects=EFFECTS,
        assistants=service.assistants(session, account_pk=user.account_pk),
        form=form.shown,
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
    form: Decision,
) -> Response:
    def decide(fb: Feedback) -> str:
        corrected = queue.correction(session, feedback=fb, text=form.corrected_response)
        review.approve(
            session,
            feedback=fb,
            actor=reviewer(user),
            corrected_response=corrected,
            note=form.note,
            seen=form.seen,
        )
        return "approved_" + golden.approval_makes(
            feedback_type=fb.feedback_type,
            linked=fb.message_pk is not None,
            corrected=corrected is not None,
        )

    return _decide(request, session, user, feedback_id, form.back, decide)


@router.post("/review/{feedback_id}/dismiss")
def dismiss(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    feedback_id: str,
    form: Decision,
) -> Response:
    def decide(fb: Feedback) -> str:
        review.dismiss(session, feedback=fb, actor=reviewer(user), note=form.note, seen=form.seen)
        return "dismissed"

    return _decide(request, session, user, feedback_id, form.back, decide)


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
        pending=queue.pending_count(session, account_pk=user.account_pk),
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


@router.post("/golden/{golden_id}/reinstate")
def reinstate_golden(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    golden_id: str,
    back: Back = "",
) -> Response:
    golden.reinstate(session, golden=_golden(session, user, golden_id))
    return _back(request, "golden", back, done="reinstated")


# -- lifecycle settings (shown on the settings page) ---------------------------------------------


@router.post("/settings/lifecycle")
def save_lifecycle(
    request: Request,
    session: DbSession,
    user: CheckedAdmin,
    choices: LifecycleChoices,
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
