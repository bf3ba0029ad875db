from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from thumbs.assistants import service as assistants
from thumbs.assistants.deps import AccountAssistant
from thumbs.auth.deps import AdminActor, StaffActor, subject_body
from thumbs.auth.service import Principal
from thumbs.conversations import service
from thumbs.conversations.schemas import (
    MessageCreate,
    MessageList,
    MessageOut,
    SessionList,
    SessionOut,
    TurnCreate,
    TurnOut,
)
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.openapi import json_body
from thumbs.kit.paging import PageParams, envelope, page_params
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS
from thumbs.users import service as users

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Conversations"])

SessionIdPath = Annotated[str, Path(alias="id", description="The session ID (free-form).")]


def _remember_user(session: Session, actor: Principal, identity: str | None) -> None:
    if identity is not None:
        users.get_or_create(session, account_pk=actor.account_pk, identity=identity)


@router.get(
    "/v1/Sessions", response_model=SessionList, responses=READ_ERRORS, summary="List sessions"
)
def list_sessions(
    request: Request,
    actor: StaffActor,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    assistant_id: Annotated[str | None, Query(alias="AssistantId", max_length=64)] = None,
) -> Response:
    assistant_pk = None
    if assistant_id is not None:
        assistant_pk = assistants.get(
            session, account_pk=actor.account_pk, assistant_id=assistant_id
        ).pk
    page = service.list_sessions(
        session, account_pk=actor.account_pk, assistant_pk=assistant_pk, params=params
    )
    names = service.assistant_ids(session, {c.assistant_pk for c in page.items})
    items = [
        service.session_out(c, account_sid=actor.account_sid, assistant_id=names[c.assistant_pk])
        for c in page.items
    ]
    return JSON(envelope(request, "sessions", params, page, items))


@router.get(
    "/v1/Sessions/{id}", response_model=SessionOut, responses=READ_ERRORS, summary="Fetch a session"
)
def fetch_session(actor: StaffActor, session: DbSession, session_id: SessionIdPath) -> Response:
    conv = service.get_session(session, account_pk=actor.account_pk, session_id=session_id)
    names = service.assistant_ids(session, {conv.assistant_pk})
    return JSON(
        service.session_out(
            conv, account_sid=actor.account_sid, assistant_id=names[conv.assistant_pk]
        )
    )


@router.get(
    "/v1/Sessions/{id}/Messages",
    response_model=MessageList,
    responses=READ_ERRORS,
    summary="List the messages of a session, oldest first",
)
def list_messages(
    request: Request,
    actor: StaffActor,
    session: DbSession,
    session_id: SessionIdPath,
    params: Annotated[PageParams, Depends(page_params)],
) -> Response:
    conv = service.get_session(session, account_pk=actor.account_pk, session_id=session_id)
    page = service.list_messages(session, conv=conv, params=params)
    assistant_id = service.assistant_ids(session, {conv.assistant_pk})[conv.assistant_pk]
    items = [
        service.message_out(
            m, account_sid=actor.account_sid, assistant_id=assistant_id, session_id=conv.id
        )
        for m in page.items
    ]
    return JSON(envelope(request, "messages", params, page, items))


@router.post(
    "/v1/Sessions/{id}/Messages",
    status_code=201,
    response_model=MessageOut,
    responses=WRITE_ERRORS,
    openapi_extra=json_body(MessageCreate),
    summary="Log one message (thumbs extension, for apps that run their own model)",
)
def create_message(
    actor: AdminActor,
    session: DbSession,
    session_id: SessionIdPath,
    data: Annotated[MessageCreate, subject_body(MessageCreate)],
) -> Response:
    assistant_pk = None
    if data.assistant_id is not None:
        assistant_pk = assistants.get(
            session, account_pk=actor.account_pk, assistant_id=data.assistant_id
        ).pk
    _remember_user(session, actor, data.identity)
    conv, message = service.log_message(
        session,
        account_pk=actor.account_pk,
        session_id=session_id,
        assistant_pk=assistant_pk,
        identity=data.identity,
        role=data.role,
        content=data.content,
        meta=data.meta,
    )
    assistant_id = service.assistant_ids(session, {conv.assistant_pk})[conv.assistant_pk]
    out = service.message_out(
        message, account_sid=actor.account_sid, assistant_id=assistant_id, session_id=conv.id
    )
    return JSON(out, status_code=201)


@router.post(
    "/v1/Assistants/{id}/Turns",
    status_code=201,
    response_model=TurnOut,
    responses=WRITE_ERRORS,
    openapi_extra=json_body(TurnCreate),
    summary="Log a turn: the user's message and the assistant's reply (thumbs extension)",
)
def create_turn(
    actor: AdminActor,
    session: DbSession,
    assistant: AccountAssistant,
    data: Annotated[TurnCreate, subject_body(TurnCreate)],
) -> Response:
    _remember_user(session, actor, data.identity)
    turn = service.log_turn(
        session,
        account_pk=actor.account_pk,
        assistant_pk=assistant.pk,
        session_id=data.session_id,
        identity=data.identity,
        body=data.body,
        reply=data.reply,
        meta=data.meta,
    )
    messages = [
        service.message_out(
            m, account_sid=actor.account_sid, assistant_id=assistant.id, session_id=turn.session.id
        )
        for m in (turn.user_message, turn.reply)
    ]
    return JSON({"session_id": turn.session.id, "messages": messages}, status_code=201)
