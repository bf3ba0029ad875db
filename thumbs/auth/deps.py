"""Named auth dependencies: every API route is authenticated by default."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPBasic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from thumbs.auth.service import Principal, parse_basic, verify_credentials
from thumbs.kit import errors as E
from thumbs.kit.deps import get_runtime
from thumbs.kit.errors import Unauthorized
from thumbs.store.models import User
from thumbs.users import service as users

_basic = HTTPBasic(
    auto_error=False,
    description="Account SID and Auth Token, or API Key SID (SK…) and secret.",
)


async def authenticate(
    request: Request, _doc: Annotated[object, Depends(_basic)] = None
) -> Principal:
    header = request.headers.get("authorization")
    runtime = get_runtime(request)
    if header:
        cached = runtime.credentials.get(header)
        if cached is not None:
            return cached
    creds = parse_basic(header)
    if creds is None:
        raise Unauthorized(
            "Authentication required: send HTTP Basic credentials "
            "(Account SID and Auth Token, or API Key SID and secret)"
        )
    username, password = creds

    def verify() -> Principal | None:
        with runtime.store.sessions() as session:
            return verify_credentials(session, username=username, password=password)

    principal = await run_in_threadpool(verify)
    if principal is None:
        raise Unauthorized("Authentication failed: unknown SID or wrong secret")
    assert header is not None
    runtime.credentials.put(header, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


IDENTITY_HEADER = "X-Thumbs-Identity"
IDENTITY_MAX = 256


def identity_header(request: Request) -> str | None:
    """The end user (or console user) a request acts for, named by the application."""
    value = request.headers.get(IDENTITY_HEADER)
    if value is None:
        return None
    if not value.strip():
        raise E.InvalidField(E.EMPTY_VALUE, IDENTITY_HEADER, f"{IDENTITY_HEADER} must not be empty")
    if len(value) > IDENTITY_MAX:
        raise E.InvalidField(
            E.TOO_LONG,
            IDENTITY_HEADER,
            f"{IDENTITY_HEADER} is longer than {IDENTITY_MAX} characters",
        )
    return value


async def acting_principal(
    request: Request,
    principal: CurrentPrincipal,
    _doc: Annotated[
        str | None,
        Header(
            alias=IDENTITY_HEADER,
            description="Act for this user: an end user's identity (role end_user), or the "
            "identity of a console member or admin (their role applies). Without it, "
            "account credentials act as admin.",
            # documented here, checked once by identity_header() (60011 empty, 60005 long)
            json_schema_extra={"minLength": 1, "maxLength": IDENTITY_MAX, "pattern": r"\S"},
        ),
    ] = None,
) -> Principal:
    """The caller with the role of the user named by ``X-Thumbs-Identity``, if any."""
    identity = identity_header(request)
    if identity is None:
        return principal
    runtime = get_runtime(request)

    def load() -> User | None:
        with runtime.store.sessions() as session:
            return users.find_by_identity(
                session, account_pk=principal.account_pk, identity=identity
            )

    user = await run_in_threadpool(load)
    if user is None:
        return replace(principal, role="end_user", identity=identity)
    return replace(principal, role=user.role, user_pk=user.pk, user_sid=user.sid, identity=identity)


Actor = Annotated[Principal, Depends(acting_principal)]


def require_staff(actor: Actor) -> Principal:
    if not actor.is_staff:
        raise E.Forbidden("Only admins and members may read this")
    return actor


def require_admin(actor: Actor) -> Principal:
    if not actor.is_admin:
        raise E.Forbidden("Only admins may do this")
    return actor


StaffActor = Annotated[Principal, Depends(require_staff)]
AdminActor = Annotated[Principal, Depends(require_admin)]
