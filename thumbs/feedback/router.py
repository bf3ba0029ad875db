from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response

from thumbs.assistants.deps import AccountAssistant
from thumbs.auth.deps import AdminActor, StaffActor, authenticate, identity_header, staff_actor
from thumbs.feedback import service
from thumbs.feedback.deps import cached_assistant, idempotency_key_of
from thumbs.feedback.filters import FeedbackFilter
from thumbs.feedback.schemas import FeedbackCreate, FeedbackList, FeedbackOut
from thumbs.kit.body import read_body
from thumbs.kit.deps import DbSession, QueryOf, UnitOfWorkRoute, get_runtime
from thumbs.kit.errors import ThumbsError
from thumbs.kit.openapi import json_body
from thumbs.kit.paging import Page, PageParams, envelope, page_params
from thumbs.kit.responses import JSON, no_content
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS, error_responses
from thumbs.kit.timefmt import UtcDateTime

FEEDBACKS_PREFIX, FEEDBACKS_SUFFIX = "/v1/Assistants/", "/Feedbacks"
FEEDBACKS_PATH = FEEDBACKS_PREFIX + "{id}" + FEEDBACKS_SUFFIX
# PUT /{fid} changes a verdict: it is served by thumbs.review.router, with every route that
# changes one (one rule: thumbs.review.service.change_verdict)
router = APIRouter(route_class=UnitOfWorkRoute, prefix=FEEDBACKS_PATH, tags=["Feedback"])

FeedbackIdPath = Annotated[str, Path(alias="fid", description="The feedback ID (aia_fdbk_…).")]


_CREATE_DOC = {
    **json_body(FeedbackCreate),
    "security": [{"HTTPBasic": []}],
    "parameters": [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The assistant ID (aia_asst_…).",
        },
        {
            "name": "I-Twilio-Idempotency-Token",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 256},
            "description": "Retry-safe creates: a retry with the same token returns the first "
            "result and creates nothing.",
        },
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 256},
            "description": "Alias of I-Twilio-Idempotency-Token.",
        },
    ],
}


@router.post(
    "",
    status_code=201,
    response_model=FeedbackOut,
    responses={**WRITE_ERRORS, **error_responses(422)},
    openapi_extra=_CREATE_DOC,
    summary="Track feedback",
)
async def create_feedback(request: Request) -> Response:
    # The hot path: the same dependencies as every other route, called directly, because
    # FastAPI's per-request dependency resolution cost a third of this handler's CPU.
    principal = await authenticate(request)
    data = await read_body(request, FeedbackCreate)  # validated before any store work
    assistant = await cached_assistant(request, principal, request.path_params["id"])
    runtime = get_runtime(request)
    result = await service.create(
        runtime.writer,
        ref=assistant,
        account_sid=principal.account_sid,
        data=data,
        idempotency_key=idempotency_key_of(request.headers),
        identity=identity_header(request),
        known_users=runtime.end_users,
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return Response(
        result.body, status_code=result.status, media_type="application/json", headers=headers
    )


async def list_filter(
    actor: StaffActor,
    assistant: AccountAssistant,
    session_id: Annotated[str | None, Query(alias="SessionId", max_length=256)] = None,
    message_id: Annotated[str | None, Query(alias="MessageId", max_length=256)] = None,
    created_after: Annotated[
        UtcDateTime | None,
        Query(alias="DateCreatedAfter", description="ISO 8601; inclusive."),
    ] = None,
    created_before: Annotated[
        UtcDateTime | None,
        Query(alias="DateCreatedBefore", description="ISO 8601; exclusive."),
    ] = None,
) -> FeedbackFilter:
    return FeedbackFilter(
        account_pk=actor.account_pk,
        assistant_pk=assistant.pk,
        session_id=session_id,
        message_id=message_id,
        created_after=created_after,
        created_before=created_before,
    )


@router.get(
    "", response_model=FeedbackList, responses=READ_ERRORS, summary="List feedback, newest first"
)
async def list_feedbacks(
    request: Request,
    actor: StaffActor,
    _assistant: AccountAssistant,
    _params: Annotated[PageParams, Depends(page_params)],
    _where: Annotated[FeedbackFilter, Depends(list_filter)],
) -> Response:
    # What the OpenAPI description shows; the requests are served by list_feedbacks_fast.
    return await list_feedbacks_fast(request)


_PAGE_QUERY = QueryOf(page_params)
_FILTER_QUERY = QueryOf(list_filter)


async def list_feedbacks_fast(request: Request) -> Response:
    """The Twilio list, served by a plain route placed first (app.py): list_feedbacks's
    dependencies called directly, in the order FastAPI resolves them, because resolving
    them cost more than reading the page. StaffActor; then AccountAssistant (404); then
    the paging parameters (400), PageToken (60009) and the filters (400); one trip to a
    worker thread for the store (on SQLite with a writer process, the event loop first:
    ``Runtime.read``)."""
    actor = await staff_actor(request)
    paging, errors = _PAGE_QUERY(request)
    refused: Exception | None = None
    params: PageParams | None = None
    if not errors:
        try:
            params = await page_params(request, **paging)
        except ThumbsError as err:
            refused = err
    filters, filter_errors = _FILTER_QUERY(request)
    errors += filter_errors
    if refused is None and errors:
        refused = RequestValidationError(errors)
    store = get_runtime(request).store
    assistant_id: str = request.path_params["id"]

    def read() -> Page[dict[str, Any]] | None:
        with store.engine.connect() as conn:
            ref = service.assistant_ref(
                conn, account_pk=actor.account_pk, assistant_id=assistant_id
            )
            if params is None or refused is not None:
                return None
            where = FeedbackFilter(account_pk=actor.account_pk, assistant_pk=ref.pk, **filters)
            return service.out_page(
                conn, where=where, params=params, assistant_id=ref.id, account_sid=actor.account_sid
            )

    page = await get_runtime(request).read(read)
    if refused is not None:
        raise refused
    assert page is not None
    assert params is not None
    return JSON(envelope(request, "feedbacks", params, page, page.items))


@router.get(
    "/{fid}",
    response_model=FeedbackOut,
    responses=READ_ERRORS,
    summary="Fetch one feedback (thumbs extension)",
)
def fetch_feedback(
    actor: StaffActor, session: DbSession, assistant: AccountAssistant, feedback_id: FeedbackIdPath
) -> Response:
    fb = service.get(session, assistant_pk=assistant.pk, feedback_id=feedback_id)
    return JSON(service.feedback_out(fb, assistant_id=assistant.id, account_sid=actor.account_sid))


@router.delete(
    "/{fid}",
    status_code=204,
    responses=READ_ERRORS,
    summary="Delete one feedback (thumbs extension)",
)
def delete_feedback(
    _actor: AdminActor, session: DbSession, assistant: AccountAssistant, feedback_id: FeedbackIdPath
) -> Response:
    fb = service.get(session, assistant_pk=assistant.pk, feedback_id=feedback_id)
    service.remove(session, feedback=fb)
    return no_content()
