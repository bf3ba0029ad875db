from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from thumbs.auth.deps import AdminActor, StaffActor
from thumbs.kit.body import body_of
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.openapi import json_body
from thumbs.kit.paging import PageParams, envelope, page_params
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS, error_responses
from thumbs.users import service
from thumbs.users.schemas import Role, UserCreate, UserList, UserOut, UserUpdate

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/v1/Users", tags=["Users"])

UserSidPath = Annotated[str, Path(alias="sid", description="The user SID (US…).")]


@router.post(
    "",
    status_code=201,
    response_model=UserOut,
    responses={**WRITE_ERRORS, **error_responses(403, 409)},
    openapi_extra=json_body(UserCreate),
    summary="Create a user (admins)",
)
def create_user(
    actor: AdminActor, session: DbSession, data: Annotated[UserCreate, body_of(UserCreate)]
) -> Response:
    user = service.create(
        session,
        account_pk=actor.account_pk,
        identity=data.identity,
        role=data.role,
        email=data.email,
    )
    return JSON(service.to_out(user, account_sid=actor.account_sid), status_code=201)


@router.get(
    "",
    response_model=UserList,
    responses={**READ_ERRORS, **error_responses(403)},
    summary="List users (admins and members)",
)
def list_users(
    request: Request,
    actor: StaffActor,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    role: Annotated[Role | None, Query(alias="Role")] = None,
) -> Response:
    page = service.list_page(session, account_pk=actor.account_pk, role=role, params=params)
    items = [service.to_out(u, account_sid=actor.account_sid) for u in page.items]
    return JSON(envelope(request, "users", params, page, items))


@router.get(
    "/{sid}",
    response_model=UserOut,
    responses={**READ_ERRORS, **error_responses(403)},
    summary="Fetch a user (admins and members)",
)
def fetch_user(actor: StaffActor, session: DbSession, sid: UserSidPath) -> Response:
    user = service.get(session, account_pk=actor.account_pk, sid=sid)
    return JSON(service.to_out(user, account_sid=actor.account_sid))


@router.put(
    "/{sid}",
    response_model=UserOut,
    responses={**WRITE_ERRORS, **error_responses(403)},
    openapi_extra=json_body(UserUpdate),
    summary="Change a user's role (admins)",
)
def update_user(
    actor: AdminActor,
    session: DbSession,
    sid: UserSidPath,
    data: Annotated[UserUpdate, body_of(UserUpdate)],
) -> Response:
    user = service.get(session, account_pk=actor.account_pk, sid=sid)
    service.set_role(session, user=user, role=data.role)
    return JSON(service.to_out(user, account_sid=actor.account_sid))
