from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from thumbs.assistants.deps import AssistantIdPath
from thumbs.auth.deps import CurrentPrincipal
from thumbs.feedback.service import AssistantRef, assistant_ref
from thumbs.kit import errors as E
from thumbs.kit.deps import get_runtime


async def cached_assistant(
    request: Request, principal: CurrentPrincipal, assistant_id: AssistantIdPath
) -> AssistantRef:
    """The assistant of the hot path, from a per-process cache (see THUMBS_AUTH_CACHE_TTL)."""
    runtime = get_runtime(request)
    key = (principal.account_pk, assistant_id)
    ref = runtime.assistants.get(key)
    if isinstance(ref, AssistantRef):
        return ref

    def load() -> AssistantRef:
        with runtime.store.sessions() as session:
            return assistant_ref(
                session, account_pk=principal.account_pk, assistant_id=assistant_id
            )

    fresh = await run_in_threadpool(load)
    runtime.assistants.put(key, fresh)
    return fresh


CachedAssistant = Annotated[AssistantRef, Depends(cached_assistant)]


def idempotency_key_of(headers: Mapping[str, str]) -> str | None:
    key = headers.get("i-twilio-idempotency-token")
    if key is None:
        key = headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > 256:
        raise E.InvalidField(
            E.TOO_LONG if key else E.EMPTY_VALUE,
            "I-Twilio-Idempotency-Token",
            "The idempotency token must be 1 to 256 characters",
        )
    return key


async def idempotency_key(
    twilio_token: Annotated[
        str | None,
        Header(
            alias="I-Twilio-Idempotency-Token",
            description="Retry-safe creates: a retry with the same token returns the "
            "first result and creates nothing.",
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Alias of the Twilio header.")
    ] = None,
) -> str | None:
    key = twilio_token if twilio_token is not None else idempotency_key
    if key is None:
        return None
    if not key or len(key) > 256:
        raise E.InvalidField(
            E.TOO_LONG if key else E.EMPTY_VALUE,
            "I-Twilio-Idempotency-Token",
            "The idempotency token must be 1 to 256 characters",
        )
    return key


IdempotencyKeyHeader = Annotated[str | None, Depends(idempotency_key)]
