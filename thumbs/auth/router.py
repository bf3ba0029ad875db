"""API keys of the account (Twilio's Key resource): list, fetch, create, revoke.

Only the account's own Auth Token manages keys (an API key cannot make, list or revoke
keys, as with Twilio's standard keys), and only as admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.requests import Request
from starlette.responses import Response

from thumbs.auth import service
from thumbs.auth.deps import AuthTokenAdmin
from thumbs.auth.schemas import ApiKeyCreate, ApiKeyList, ApiKeyOut, NewApiKeyOut
from thumbs.kit.body import body_of
from thumbs.kit.deps import DbSession, UnitOfWorkRoute, get_runtime
from thumbs.kit.openapi import json_body
from thumbs.kit.paging import PageParams, envelope, page_params
from thumbs.kit.responses import JSON, no_content
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS, error_responses
from thumbs.store.models import Account

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/v1/Keys", tags=["API keys"])

KeySidPath = Annotated[str, Path(alias="sid", description="The API key SID (SK…).")]
KEY_ERRORS = error_responses(403)


@router.get(
    "",
    response_model=ApiKeyList,
    responses={**READ_ERRORS, **KEY_ERRORS},
    summary="List the account's API keys, newest first (Auth Token only)",
)
def list_keys(
    request: Request,
    actor: AuthTokenAdmin,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
) -> Response:
    page = service.list_api_keys(session, account_pk=actor.account_pk, params=params)
    items = [service.api_key_out(k, account_sid=actor.account_sid) for k in page.items]
    return JSON(envelope(request, "keys", params, page, items))


@router.post(
    "",
    status_code=201,
    response_model=NewApiKeyOut,
    responses={**WRITE_ERRORS, **KEY_ERRORS},
    openapi_extra=json_body(ApiKeyCreate, required=False),
    summary="Create an API key; its secret is shown only in this response (Auth Token only)",
)
def create_key(
    actor: AuthTokenAdmin,
    session: DbSession,
    data: Annotated[ApiKeyCreate, body_of(ApiKeyCreate, required=False)],
) -> Response:
    account = session.get_one(Account, actor.account_pk)
    created = service.create_api_key(session, account=account, name=data.friendly_name)
    out = service.api_key_out(created.key, account_sid=actor.account_sid)
    return JSON({**out, "secret": created.secret}, status_code=201)


@router.get(
    "/{sid}",
    response_model=ApiKeyOut,
    responses={**READ_ERRORS, **KEY_ERRORS},
    summary="Fetch an API key (Auth Token only)",
)
def fetch_key(actor: AuthTokenAdmin, session: DbSession, sid: KeySidPath) -> Response:
    key = service.get_api_key(session, account_pk=actor.account_pk, sid=sid)
    return JSON(service.api_key_out(key, account_sid=actor.account_sid))


@router.delete(
    "/{sid}",
    status_code=204,
    responses={**READ_ERRORS, **KEY_ERRORS},
    summary="Revoke an API key: refused by every server process within "
    "THUMBS_AUTH_REVOCATION_CHECK seconds (Auth Token only)",
)
def revoke_key(
    request: Request, actor: AuthTokenAdmin, session: DbSession, sid: KeySidPath
) -> Response:
    key = service.get_api_key(session, account_pk=actor.account_pk, sid=sid)
    service.revoke_api_key(session, key=key)
    get_runtime(request).credentials.clear()  # this process at once; the others by the epoch
    return no_content()
