"""``POST /v1/Assistants/{id}/Messages``: Twilio's "send a message to the assistant"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from thumbs.auth.deps import EndUserOrStaff, subject_body
from thumbs.chat import service
from thumbs.chat.schemas import MessageReply, SendMessage
from thumbs.kit import errors as E
from thumbs.kit.deps import UnitOfWorkRoute, get_runtime
from thumbs.kit.openapi import json_body
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import WRITE_ERRORS, error_responses

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Messages"])


@router.post(
    "/v1/Assistants/{id}/Messages",
    response_model=MessageReply,
    responses={**WRITE_ERRORS, **error_responses(502, 504)},
    openapi_extra=json_body(SendMessage),
    summary="Send a message to the assistant and get its reply (stored in the session)",
)
async def send_message(
    request: Request,
    actor: EndUserOrStaff,
    assistant_id: Annotated[str, Path(alias="id", description="The assistant ID (aia_asst_…).")],
    data: Annotated[SendMessage, subject_body(SendMessage, identity_required=True)],
) -> Response:
    if data.webhook is not None:
        raise E.InvalidField(
            E.INVALID_VALUE,
            "webhook",
            "thumbs answers synchronously: omit webhook and read the reply from the response",
        )
    runtime = get_runtime(request)
    answered = await service.ask(
        runtime.store,
        runtime.settings,
        client=runtime.http,
        account_pk=actor.account_pk,
        assistant_id=assistant_id,
        identity=data.identity,
        session_id=data.session_id,
        session_owner=actor.confined_to,
        body=data.body,
        mode=data.mode,
    )
    return JSON(service.reply_out(answered, account_sid=actor.account_sid))
