"""Named auth dependencies: every API route is authenticated by default."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPBasic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from thumbs.auth.service import Principal, parse_basic, verify_credentials
from thumbs.kit.deps import get_runtime
from thumbs.kit.errors import Unauthorized

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
