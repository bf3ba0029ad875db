"""The console's JSON endpoints (under ``/console/api``), used by the Simulator's script.

Signed-in users only, with the CSRF token in the ``X-CSRF-Token`` header; errors are the one
JSON error body. Each endpoint calls the same service as the ``/v1`` API, acting for the
console user as the end user ``console:<email>``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from thumbs.auth.console import ConsoleUser
from thumbs.chat import service as chat
from thumbs.chat.schemas import Body
from thumbs.feedback import service as feedback
from thumbs.feedback.deps import cached_ref
from thumbs.feedback.schemas import FeedbackCreate, FeedbackText
from thumbs.kit.body import body_of
from thumbs.kit.deps import DbSession, UnitOfWorkRoute, get_runtime
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import InputModel, RequiredId
from thumbs.review import service as review
from thumbs.review import submission
from thumbs.review.schemas import FeedbackType
from thumbs.web import markdown
from thumbs.web.deps import CheckedUser, CurrentUser

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api")

AssistantIdPath = Annotated[str, Path(max_length=64)]
MessageIdPath = Annotated[str, Path(max_length=64)]


def identity_of(user: ConsoleUser) -> str:
    return user.identity


class Ask(InputModel):
    session_id: RequiredId | None = None
    body: Body


class Verdict(InputModel):
    feedback_type: FeedbackType
    reason: FeedbackText | None = None


class SessionVerdict(InputModel):
    session_id: RequiredId
    score: float | None = Field(default=None, ge=0, le=1)
    text: FeedbackText | None = None


@router.get("/session")
def current_session(user: CurrentUser) -> Response:
    """Who is signed in and the form token of their session: a page opened before its
    session ended takes the new token after signing in again (console.js)."""
    return JSON({"email": user.email, "role": user.role, "csrf_token": user.csrf_token})


@router.post("/assistants/{assistant_id}/messages")
async def ask(
    request: Request,
    user: CheckedUser,
    assistant_id: AssistantIdPath,
    data: Annotated[Ask, body_of(Ask)],
) -> Response:
    runtime = get_runtime(request)
    answered = await chat.ask(
        runtime.store,
        runtime.settings,
        client=runtime.http,
        account_pk=user.account_pk,
        assistant_id=assistant_id,
        identity=user.identity,
        session_id=data.session_id,
        body=data.body,
    )
    out = chat.reply_out(answered, account_sid=user.account_sid)
    out["html"] = markdown.render(answered.reply)
    return JSON(out)


@router.post("/messages/{message_id}/thumbs")
def rate_message(
    session: DbSession,
    user: CheckedUser,
    message_id: MessageIdPath,
    data: Annotated[Verdict, body_of(Verdict)],
) -> Response:
    result = submission.submit(
        session,
        actor=user.principal,
        identity=user.identity,
        message_id=message_id,
        feedback_type=data.feedback_type,
        reason=data.reason,
    )
    out = review.feedback_out(session, result.feedback, account_sid=user.account_sid)
    return JSON(out, status_code=201 if result.created else 200)


@router.post("/assistants/{assistant_id}/session-feedback")
async def rate_session(
    request: Request,
    user: CheckedUser,
    assistant_id: AssistantIdPath,
    data: Annotated[SessionVerdict, body_of(SessionVerdict)],
) -> Response:
    runtime = get_runtime(request)
    result = await feedback.create(
        runtime.writer,
        ref=await cached_ref(runtime, account_pk=user.account_pk, assistant_id=assistant_id),
        account_sid=user.account_sid,
        data=FeedbackCreate(session_id=data.session_id, score=data.score, text=data.text),
        idempotency_key=None,
        identity=identity_of(user),
        channel="console",
        known_users=runtime.end_users,
    )
    return Response(result.body, status_code=result.status, media_type="application/json")
