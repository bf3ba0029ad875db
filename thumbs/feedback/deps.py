from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from thumbs.assistants.deps import AssistantIdPath
from thumbs.auth.deps import CurrentPrincipal
from thumbs.feedback.service import AssistantRef, assistant_ref
from thumbs.kit import errors as E
from thumbs.kit.deps import get_runtime

if TYPE_CHECKING:
    from thumbs.runtime import Runtime


async def cached_ref(runtime: Runtime, *, account_pk: int, assistant_id: str) -> AssistantRef:
    """The assistant of a create, from a per-process cache (see THUMBS_AUTH_CACHE_TTL):
    the one lookup of both create routes (the Twilio create, the console's session
    rating)."""
    key = (account_pk, assistant_id)
    ref = runtime.assistants.get(key)
    if isinstance(ref, AssistantRef):
        return ref

    def load() -> AssistantRef:
        with runtime.store.sessions() as session:
            return assistant_ref(session, account_pk=account_pk, assistant_id=assistant_id)

    fresh = await run_in_threadpool(load)
    runtime.assistants.put(key, fresh)
    return fresh


async def cached_assistant(
    request: Request, principal: CurrentPrincipal, assistant_id: AssistantIdPath
) -> AssistantRef:
    return await cached_ref(
        get_runtime(request), account_pk=principal.account_pk, assistant_id=assistant_id
    )


CachedAssistant = Annotated[AssistantRef, Depends(cached_assistant)]


IDEMPOTENCY_HEADERS = ("I-Twilio-Idempotency-Token", "Idempotency-Key")


def idempotency_key_of(headers: Mapping[str, str]) -> str | None:
    """The create's idempotency key: Twilio's header, or the common alias (both may be
    given only with the same value)."""
    given: dict[str, str] = {}
    for name in IDEMPOTENCY_HEADERS:
        key = headers.get(name)
        if key is None:
            continue
        if not key.strip():
            raise E.InvalidField(E.EMPTY_VALUE, name, f"{name} must not be empty")
        if len(key) > 256:
            raise E.InvalidField(E.TOO_LONG, name, f"{name} is longer than 256 characters")
        given[name] = key
    if len(set(given.values())) > 1:
        raise E.InvalidField(
            E.INVALID_VALUE,
            IDEMPOTENCY_HEADERS[1],
            f"{IDEMPOTENCY_HEADERS[0]} and {IDEMPOTENCY_HEADERS[1]} differ; send one of them",
        )
    return next(iter(given.values()), None)
