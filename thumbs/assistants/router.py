from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from thumbs.assistants import service
from thumbs.assistants.deps import AccountAssistant
from thumbs.assistants.schemas import (
    AssistantCreate,
    AssistantList,
    AssistantOut,
    AssistantUpdate,
    AssistantWithToolsOut,
)
from thumbs.auth.deps import AdminActor, StaffActor
from thumbs.kit.body import body_of
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.openapi import json_body
from thumbs.kit.paging import PageParams, envelope, page_params
from thumbs.kit.responses import JSON, no_content
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS, error_responses
from thumbs.kit.urls import base_url

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/v1/Assistants", tags=["Assistants"])


@router.post(
    "",
    status_code=201,
    response_model=AssistantOut,
    responses=WRITE_ERRORS,
    openapi_extra=json_body(AssistantCreate),
    summary="Create an assistant",
)
def create_assistant(
    request: Request,
    principal: AdminActor,
    session: DbSession,
    data: Annotated[AssistantCreate, body_of(AssistantCreate)],
) -> Response:
    assistant = service.create(session, account_pk=principal.account_pk, data=data)
    out = service.to_out(assistant, account_sid=principal.account_sid, base_url=base_url(request))
    return JSON(out, status_code=201)


@router.get("", response_model=AssistantList, responses=READ_ERRORS, summary="List assistants")
def list_assistants(
    request: Request,
    principal: StaffActor,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
) -> Response:
    page = service.list_page(session, account_pk=principal.account_pk, params=params)
    base = base_url(request)
    items = [
        service.to_out(a, account_sid=principal.account_sid, base_url=base) for a in page.items
    ]
    return JSON(envelope(request, "assistants", params, page, items))


@router.get(
    "/{id}",
    response_model=AssistantWithToolsOut,
    responses=READ_ERRORS,
    summary="Fetch an assistant",
)
def fetch_assistant(
    request: Request, principal: StaffActor, assistant: AccountAssistant
) -> Response:
    out = service.to_out(assistant, account_sid=principal.account_sid, base_url=base_url(request))
    return JSON({**out, "tools": [], "knowledge": []})


@router.put(
    "/{id}",
    response_model=AssistantOut,
    responses=WRITE_ERRORS,
    openapi_extra=json_body(AssistantUpdate, required=False),
    summary="Update an assistant",
)
def update_assistant(
    request: Request,
    principal: AdminActor,
    session: DbSession,
    assistant: AccountAssistant,
    data: Annotated[AssistantUpdate, body_of(AssistantUpdate, required=False)],
) -> Response:
    service.update(session, assistant=assistant, data=data)
    out = service.to_out(assistant, account_sid=principal.account_sid, base_url=base_url(request))
    return JSON(out)


@router.delete(
    "/{id}",
    status_code=204,
    responses={**READ_ERRORS, **error_responses(409)},
    summary="Delete an assistant (Cascade=true also deletes its feedback)",
)
def delete_assistant(
    request: Request,
    _actor: AdminActor,
    session: DbSession,
    assistant: AccountAssistant,
    cascade: Annotated[bool, Query(alias="Cascade")] = False,
) -> Response:
    service.remove(session, assistant=assistant, cascade=cascade)
    request.app.state.runtime.assistants.clear()
    return no_content()
