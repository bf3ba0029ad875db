"""Named auth dependencies: every API route is authenticated by default, and says who may
call it by the dependency it takes (the model is documented in docs/lifecycle.md):

* :data:`EndUserOrStaff` — any caller. A request whose ``X-Thumbs-Identity`` names an end
  user acts as that end user alone: an identity it names in a body (:func:`subject_body`) or
  a query (:data:`SubjectIdentity`) must be its own (else 403, code 60403).
* :data:`StaffActor` — admins and members; end users get 403.
* :data:`AdminActor` — admins (account credentials without the header act as admin).
* :data:`AuthTokenAdmin` — an admin authenticated with the account's Auth Token: API keys
  cannot manage API keys.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query
from fastapi.security import HTTPBasic
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from thumbs.auth.service import (
    CredentialCache,
    Principal,
    parse_basic,
    refresh_credential_epoch,
    verify_credentials,
)
from thumbs.kit import errors as E
from thumbs.kit.body import read_body
from thumbs.kit.deps import get_runtime
from thumbs.kit.errors import Unauthorized
from thumbs.kit.openapi import IDENTITY_HEADER
from thumbs.store.engine import Store
from thumbs.store.models import User
from thumbs.users import service as users

M = TypeVar("M", bound=BaseModel)

_basic = HTTPBasic(
    auto_error=False,
    description="Account SID and Auth Token, or API Key SID (SK…) and secret.",
)


async def _confirm_epoch(cache: CredentialCache, store: Store) -> None:
    """Re-read the revocation epoch, once per process however many requests wait for it."""
    async with cache.check_lock:
        if cache.needs_check():
            await run_in_threadpool(refresh_credential_epoch, cache, store)


async def authenticate(
    request: Request, _doc: Annotated[object, Depends(_basic)] = None
) -> Principal:
    """The account (and credential) of the request's HTTP Basic credentials."""
    header = request.headers.get("authorization")
    runtime = get_runtime(request)
    cache = runtime.credentials
    if header:
        cached = cache.get(header)
        if cached is not None:
            if not cache.needs_check():
                return cached
            await _confirm_epoch(cache, runtime.store)
            cached = cache.get(header)  # gone if a credential was revoked meanwhile
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

    generation = cache.generation
    principal = await run_in_threadpool(verify)
    if principal is None:
        raise Unauthorized("Authentication failed: unknown SID or wrong secret")
    assert header is not None
    cache.put(header, principal, generation=generation)
    return principal


# The credentials' account, for dependencies that scope to it (``AccountAssistant``); a
# route says who may call it with one of the role dependencies below, never with this.
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


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

    user = await runtime.read(load, limited=False)
    if user is None:
        return replace(principal, role="end_user", identity=identity)
    return replace(principal, role=user.role, user_pk=user.pk, user_sid=user.sid, identity=identity)


Actor = Annotated[Principal, Depends(acting_principal)]
# Any caller, end users included (an end user acts for themselves alone).
EndUserOrStaff = Actor


def require_staff(actor: Actor) -> Principal:
    if not actor.is_staff:
        raise E.Forbidden("Only admins and members may do this; an end user may not")
    return actor


def require_admin(actor: Actor) -> Principal:
    if not actor.is_admin:
        raise E.Forbidden("Only admins may do this")
    return actor


StaffActor = Annotated[Principal, Depends(require_staff)]
AdminActor = Annotated[Principal, Depends(require_admin)]


async def staff_actor(request: Request) -> Principal:
    """:data:`StaffActor` for a plain route: the steps FastAPI resolves for it, in its
    order (the Basic scheme's own check, the credentials, the acting user, the role)."""
    await _basic(request)
    return require_staff(await acting_principal(request, await authenticate(request)))


def require_auth_token(actor: AdminActor) -> Principal:
    if not actor.by_auth_token:
        raise E.Forbidden("API keys cannot manage API keys: use the Account SID and Auth Token")
    return actor


AuthTokenAdmin = Annotated[Principal, Depends(require_auth_token)]


# -- whose data: the identity a body or a query names ----------------------------------------


def subject_identity(actor: Principal, given: str | None, field: str) -> str | None:
    """The end user whose data the request touches. Staff (the application's backend, a
    member) may name anyone, and default to the header; an end user is always themselves,
    and naming anyone else is a 403."""
    if actor.is_staff:
        return given if given is not None else actor.identity
    if given is not None and given != actor.identity:
        raise E.ThumbsError(
            E.FORBIDDEN,
            f"An end user acts only for themselves: {field} must be the {IDENTITY_HEADER} "
            "of the request, or be left out",
            field=field,
        )
    return actor.identity


def _required(identity: str | None, field: str) -> str:
    if identity is None:
        raise E.InvalidField(
            E.IDENTITY_REQUIRED,
            field,
            f"Name the end user with the {field} field or the {IDENTITY_HEADER} header",
        )
    return identity


def subject_body(model: type[M], *, identity_required: bool = False) -> Any:
    """A dependency that reads the body as ``model`` (which has an ``identity`` field) after
    the caller is known, with ``identity`` resolved by :func:`subject_identity`."""

    async def dependency(request: Request, actor: Actor) -> M:
        data = await read_body(request, model)
        identity = subject_identity(actor, getattr(data, "identity", None), "identity")
        if identity_required:
            identity = _required(identity, "identity")
        return data.model_copy(update={"identity": identity})

    return Depends(dependency)


def subject_query(
    actor: Actor,
    identity: Annotated[
        str | None,
        Query(
            alias="Identity",
            min_length=1,
            max_length=IDENTITY_MAX,
            description="The end user; defaults to the X-Thumbs-Identity header (an end user "
            "may name only themselves).",
        ),
    ] = None,
) -> str:
    return _required(subject_identity(actor, identity, "Identity"), "Identity")


SubjectIdentity = Annotated[str, Depends(subject_query)]
