"""Review (admins), the lifecycle's history, the feedback settings, and Twilio's update of a
feedback (a verdict change: served here with the lifecycle it goes through)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from thumbs.assistants import service as assistants
from thumbs.assistants.deps import AccountAssistant
from thumbs.auth.deps import AdminActor, StaffActor
from thumbs.auth.service import Principal
from thumbs.feedback import service as feedback
from thumbs.feedback.filters import FeedbackFilter
from thumbs.feedback.router import FEEDBACKS_PATH
from thumbs.feedback.schemas import FeedbackOut, FeedbackUpdate
from thumbs.kit import errors as E
from thumbs.kit.body import body_of
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.openapi import json_body
from thumbs.kit.paging import PageParams, envelope, page_params
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS, error_responses
from thumbs.kit.timefmt import UtcDateTime
from thumbs.review import queue, service
from thumbs.review.schemas import (
    Approve,
    DecisionOut,
    Dismiss,
    QueueList,
    SettingPut,
    SettingsOut,
    ThumbsOut,
    TransitionList,
)
from thumbs.store.models import Assistant, Feedback, FeedbackTransition

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Review"])

FeedbackIdPath = Annotated[str, Path(alias="fid", description="The feedback ID (aia_fdbk_…).")]
STAFF_READ = {**READ_ERRORS, **error_responses(403)}
ADMIN_WRITE = {**WRITE_ERRORS, **error_responses(403, 409)}


def _assistant(session: Session, actor: Principal, assistant_id: str | None) -> Assistant | None:
    if assistant_id is None:
        return None
    return assistants.get(session, account_pk=actor.account_pk, assistant_id=assistant_id)


def queue_filter(
    actor: AdminActor,
    session: DbSession,
    assistant_id: Annotated[str | None, Query(alias="AssistantId", max_length=64)] = None,
    feedback_type: Annotated[
        Literal["positive", "negative"] | None, Query(alias="FeedbackType")
    ] = None,
    has_reason: Annotated[bool | None, Query(alias="HasReason")] = None,
    channel: Annotated[Literal["thumbs", "api", "console"] | None, Query(alias="Channel")] = None,
    created_after: Annotated[
        UtcDateTime | None, Query(alias="DateCreatedAfter", description="ISO 8601; inclusive.")
    ] = None,
    created_before: Annotated[
        UtcDateTime | None, Query(alias="DateCreatedBefore", description="ISO 8601; exclusive.")
    ] = None,
) -> FeedbackFilter:
    assistant = _assistant(session, actor, assistant_id)
    return FeedbackFilter(
        account_pk=actor.account_pk,
        assistant_pk=assistant.pk if assistant is not None else None,
        feedback_type=feedback_type,
        has_reason=has_reason,
        channel=channel,
        created_after=created_after,
        created_before=created_before,
    )


@router.get(
    "/v1/Review",
    response_model=QueueList,
    responses=STAFF_READ,
    summary="The review queue: pending feedback, oldest first (admins)",
)
def review_queue(
    request: Request,
    actor: AdminActor,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    where: Annotated[FeedbackFilter, Depends(queue_filter)],
) -> Response:
    page = queue.queue_page(session, where=where, params=params)
    items = service.feedbacks_out(session, page.items, account_sid=actor.account_sid)
    return JSON(envelope(request, "feedbacks", params, page, items))


@router.get(
    "/v1/Review/{fid}",
    response_model=ThumbsOut,
    responses=STAFF_READ,
    summary="Fetch one feedback with its lifecycle (admins and members)",
)
def fetch_feedback(actor: StaffActor, session: DbSession, feedback_id: FeedbackIdPath) -> Response:
    fb = service.get_feedback(session, account_pk=actor.account_pk, feedback_id=feedback_id)
    return JSON(
        service.feedback_out(session, fb, account_sid=actor.account_sid),
        headers={"ETag": service.etag(fb)},
    )


@router.get(
    "/v1/Review/{fid}/Transitions",
    response_model=TransitionList,
    responses=STAFF_READ,
    summary="Every status change of a feedback, oldest first (admins and members)",
)
def list_transitions(
    actor: StaffActor, session: DbSession, feedback_id: FeedbackIdPath
) -> Response:
    fb = service.get_feedback(session, account_pk=actor.account_pk, feedback_id=feedback_id)
    rows = service.transitions(session, feedback=fb)
    return JSON({"transitions": [service.transition_out(t, feedback_id=fb.id) for t in rows]})


def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="Decide only if the feedback is still as seen: its ETag (from "
            "`GET /v1/Review/{fid}` or the previous decision). Otherwise 409 (60410).",
        ),
    ] = None,
) -> frozenset[int] | None:
    """The versions a decision is conditional on; None (no header, or ``*``) decides on
    the current state. Weak tags never match (If-Match compares strongly)."""
    if value is None or value.strip() == "*":
        return None
    versions = set()
    for tag in (t.strip() for t in value.split(",")):
        if tag.startswith("W/"):
            continue
        if len(tag) < 2 or tag[0] != '"' or tag[-1] != '"':
            raise E.InvalidField(
                E.INVALID_VALUE, "If-Match", 'If-Match holds entity tags such as "3", or *'
            )
        if tag[1:-1].isdecimal():
            versions.add(int(tag[1:-1]))
    return frozenset(versions)


IfMatch = Annotated[frozenset[int] | None, Depends(if_match)]


def _decision(
    session: Session, actor: Principal, fb: Feedback, decision: FeedbackTransition
) -> Response:
    return JSON(
        {
            "feedback": service.feedback_out(session, fb, account_sid=actor.account_sid),
            "transition": service.transition_out(decision, feedback_id=fb.id),
        },
        headers={"ETag": service.etag(fb)},
    )


@router.post(
    "/v1/Review/{fid}/Approve",
    response_model=DecisionOut,
    responses=ADMIN_WRITE,
    openapi_extra=json_body(Approve, required=False),
    summary="Approve, optionally with a corrected response (admins)",
)
def approve(
    actor: AdminActor,
    session: DbSession,
    feedback_id: FeedbackIdPath,
    seen: IfMatch,
    data: Annotated[Approve, body_of(Approve, required=False)],
) -> Response:
    fb = service.get_feedback(session, account_pk=actor.account_pk, feedback_id=feedback_id)
    decision = service.approve(
        session,
        feedback=fb,
        actor=actor,
        corrected_response=data.corrected_response,
        note=data.note,
        seen=seen,
    )
    return _decision(session, actor, fb, decision)


@router.post(
    "/v1/Review/{fid}/Dismiss",
    response_model=DecisionOut,
    responses=ADMIN_WRITE,
    openapi_extra=json_body(Dismiss, required=False),
    summary="Dismiss: reviewed, not used (admins)",
)
def dismiss(
    actor: AdminActor,
    session: DbSession,
    feedback_id: FeedbackIdPath,
    seen: IfMatch,
    data: Annotated[Dismiss, body_of(Dismiss, required=False)],
) -> Response:
    fb = service.get_feedback(session, account_pk=actor.account_pk, feedback_id=feedback_id)
    decision = service.dismiss(session, feedback=fb, actor=actor, note=data.note, seen=seen)
    return _decision(session, actor, fb, decision)


@router.put(
    FEEDBACKS_PATH + "/{fid}",
    tags=["Feedback"],
    response_model=FeedbackOut,
    responses={**WRITE_ERRORS, **error_responses(409)},
    openapi_extra=json_body(FeedbackUpdate),
    summary="Update score/text (thumbs extension); the type follows the score",
)
def update_feedback(
    actor: AdminActor,
    session: DbSession,
    assistant: AccountAssistant,
    feedback_id: FeedbackIdPath,
    data: Annotated[FeedbackUpdate, body_of(FeedbackUpdate)],
) -> Response:
    fb = feedback.get(session, assistant_pk=assistant.pk, feedback_id=feedback_id)
    service.update_feedback(
        session,
        feedback=fb,
        data=data,
        positive_threshold=assistant.positive_threshold,
        actor=actor,
    )
    return JSON(feedback.feedback_out(fb, assistant_id=assistant.id, account_sid=actor.account_sid))


@router.get(
    "/v1/Settings/Feedback",
    response_model=SettingsOut,
    responses=STAFF_READ,
    summary="Feedback settings per type: the account default, or an assistant's (effective)",
)
def get_settings(
    actor: StaffActor,
    session: DbSession,
    assistant_id: Annotated[str | None, Query(alias="AssistantId", max_length=64)] = None,
) -> Response:
    assistant = _assistant(session, actor, assistant_id)
    settings = service.effective_settings(session, account_pk=actor.account_pk, assistant=assistant)
    return JSON(service.settings_out(assistant_id, settings))


@router.put(
    "/v1/Settings/Feedback",
    response_model=SettingsOut,
    responses=ADMIN_WRITE,
    openapi_extra=json_body(SettingPut),
    summary="Set auto_approve / require_reason for one type (admins)",
)
def put_settings(
    actor: AdminActor, session: DbSession, data: Annotated[SettingPut, body_of(SettingPut)]
) -> Response:
    assistant = _assistant(session, actor, data.assistant_id)
    service.put_setting(
        session,
        account_pk=actor.account_pk,
        assistant=assistant,
        feedback_type=data.feedback_type,
        auto_approve=data.auto_approve,
        require_reason=data.require_reason,
    )
    settings = service.effective_settings(session, account_pk=actor.account_pk, assistant=assistant)
    return JSON(service.settings_out(data.assistant_id, settings))
