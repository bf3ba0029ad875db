"""The seed's thumbs endpoints: submit a verdict, read my verdict on a message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from thumbs.auth.deps import EndUserOrStaff, SubjectIdentity, subject_body
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.openapi import json_body
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS
from thumbs.review import service as review
from thumbs.review import submission
from thumbs.review.schemas import ThumbsCreate, ThumbsOut

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Thumbs"])


@router.post(
    "/v1/Thumbs",
    status_code=201,
    response_model=ThumbsOut,
    responses={
        200: {"model": ThumbsOut, "description": "This user's verdict existed and was updated"},
        **WRITE_ERRORS,
    },
    openapi_extra=json_body(ThumbsCreate),
    summary="Submit thumbs up/down on a message (201 created, 200 when it changed a verdict)",
)
def submit_thumbs(
    actor: EndUserOrStaff,
    session: DbSession,
    data: Annotated[ThumbsCreate, subject_body(ThumbsCreate, identity_required=True)],
) -> Response:
    assert data.identity is not None
    result = submission.submit(
        session,
        actor=actor,
        identity=data.identity,
        message_id=data.message_id,
        feedback_type=data.feedback_type,
        reason=data.reason,
    )
    out = review.feedback_out(session, result.feedback, account_sid=actor.account_sid)
    return JSON(out, status_code=201 if result.created else 200)


@router.get(
    "/v1/Messages/{message_id}/Thumbs",
    response_model=ThumbsOut | None,
    responses=READ_ERRORS,
    summary="Get my feedback for a message (null when I gave none)",
)
def my_thumbs(
    actor: EndUserOrStaff,
    session: DbSession,
    message_id: Annotated[str, Path(description="The message ID (aia_msg_…).")],
    identity: SubjectIdentity,
) -> Response:
    fb = submission.mine(session, actor=actor, identity=identity, message_id=message_id)
    if fb is None:
        return JSON(None)
    return JSON(review.feedback_out(session, fb, account_sid=actor.account_sid))
