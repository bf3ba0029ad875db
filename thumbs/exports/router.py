"""``GET /v1/Exports/Feedback`` and ``GET /v1/Exports/Golden``: streamed downloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from thumbs.assistants import service as assistants
from thumbs.auth.deps import StaffActor
from thumbs.exports import formats, service
from thumbs.feedback import filters
from thumbs.feedback.schemas import FeedbackQuery
from thumbs.kit.deps import DbSession, RuntimeDep, UnitOfWorkRoute
from thumbs.kit.schemas import READ_ERRORS, error_responses
from thumbs.kit.timefmt import utcnow

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/v1/Exports", tags=["Exports"])

STAFF_READ = {**READ_ERRORS, **error_responses(403)}


def _download(*media_types: str) -> dict[int | str, dict[str, Any]]:
    text, binary = {"type": "string"}, {"type": "string", "format": "binary"}
    return {
        200: {
            "description": "The export, streamed (chunked) as it is read.",
            "content": {
                media: {
                    "schema": text if media.startswith(("text/", "application/x-nd")) else binary
                }
                for media in media_types
            },
        },
        **STAFF_READ,
    }


def _stream(chunks: Iterator[service.Chunk], media_type: str, filename: str) -> Response:
    return StreamingResponse(
        (chunk.data for chunk in chunks if chunk.data),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _stamp() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ")


@router.get(
    "/Feedback",
    response_class=StreamingResponse,
    responses=_download("text/csv", "application/x-ndjson", formats.MEDIA_TYPES["parquet"]),
    summary="Export feedback as CSV, JSONL or Parquet, with the lists' filters (admins and "
    "members)",
)
def export_feedback(
    request: Request,
    actor: StaffActor,
    session: DbSession,
    runtime: RuntimeDep,
    query: Annotated[FeedbackQuery, Query()],
    fmt: Annotated[
        formats.FeedbackFormat | None,
        Query(alias="Format", description="csv, jsonl or parquet; default: from Accept, or jsonl."),
    ] = None,
) -> Response:
    flt = filters.resolve(session, account_pk=actor.account_pk, query=query)
    chosen = formats.negotiate(fmt, request.headers.get("accept"))
    chunks = service.export_feedback(
        runtime.store.engine, flt=flt, account_sid=actor.account_sid, fmt=chosen
    )
    return _stream(chunks, formats.MEDIA_TYPES[chosen], f"feedback-{_stamp()}.{chosen}")


@router.get(
    "/Golden",
    response_class=StreamingResponse,
    responses=_download("application/x-ndjson"),
    summary="Export golden examples for fine-tuning (openai) or evaluation (eval), or "
    "preference pairs (dpo), as JSONL (admins and members)",
)
def export_golden(
    actor: StaffActor,
    session: DbSession,
    runtime: RuntimeDep,
    fmt: Annotated[
        formats.GoldenFormat,
        Query(alias="Format", description="openai, eval or dpo."),
    ],
    assistant_id: Annotated[str | None, Query(alias="AssistantId", max_length=64)] = None,
) -> Response:
    assistant_pk = assistants.pk_of(session, account_pk=actor.account_pk, assistant_id=assistant_id)
    chunks = service.export_golden(
        runtime.store.engine, account_pk=actor.account_pk, assistant_pk=assistant_pk, fmt=fmt
    )
    return _stream(chunks, formats.MEDIA_TYPES["jsonl"], f"golden-{fmt}-{_stamp()}.jsonl")
