from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from thumbs.assistants import service as assistants
from thumbs.auth.deps import AdminActor, StaffActor
from thumbs.golden import service
from thumbs.golden.schemas import GoldenList, GoldenOut, GoldenUpdate, PairList, PairOut
from thumbs.kit.body import body_of
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.openapi import json_body
from thumbs.kit.paging import PageParams, envelope, page_params
from thumbs.kit.responses import JSON, no_content
from thumbs.kit.schemas import READ_ERRORS, WRITE_ERRORS, error_responses
from thumbs.kit.timefmt import UtcDateTime

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Golden examples"])

GoldenIdPath = Annotated[str, Path(alias="gid", description="The golden example ID (aia_gold_…).")]
PairIdPath = Annotated[str, Path(alias="pid", description="The preference pair ID (aia_pref_…).")]
Status = Literal["active", "withdrawn"]
STAFF_READ = {**READ_ERRORS, **error_responses(403)}


@router.get(
    "/v1/GoldenExamples",
    response_model=GoldenList,
    responses=STAFF_READ,
    summary="List golden examples, newest first (admins and members)",
)
def list_golden(
    request: Request,
    actor: StaffActor,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    assistant_id: Annotated[str | None, Query(alias="AssistantId", max_length=64)] = None,
    status: Annotated[Status | None, Query(alias="Status")] = None,
    source: Annotated[Literal["original", "corrected"] | None, Query(alias="Source")] = None,
    created_after: Annotated[UtcDateTime | None, Query(alias="DateCreatedAfter")] = None,
    created_before: Annotated[UtcDateTime | None, Query(alias="DateCreatedBefore")] = None,
) -> Response:
    assistant_pk = None
    if assistant_id is not None:
        assistant_pk = assistants.get(
            session, account_pk=actor.account_pk, assistant_id=assistant_id
        ).pk
    filters = service.Filters(
        assistant_pk=assistant_pk,
        status=status,
        source=source,
        created_after=created_after,
        created_before=created_before,
    )
    page = service.list_page(session, account_pk=actor.account_pk, filters=filters, params=params)
    names = service.names_for(session, page.items)
    items = [service.golden_out(g, account_sid=actor.account_sid, names=names) for g in page.items]
    return JSON(envelope(request, "golden_examples", params, page, items))


@router.get(
    "/v1/GoldenExamples/{gid}",
    response_model=GoldenOut,
    responses=STAFF_READ,
    summary="Fetch a golden example (admins and members)",
)
def fetch_golden(actor: StaffActor, session: DbSession, golden_id: GoldenIdPath) -> Response:
    g = service.get(session, account_pk=actor.account_pk, golden_id=golden_id)
    names = service.names_for(session, [g])
    return JSON(service.golden_out(g, account_sid=actor.account_sid, names=names))


@router.put(
    "/v1/GoldenExamples/{gid}",
    response_model=GoldenOut,
    responses={**WRITE_ERRORS, **error_responses(403)},
    openapi_extra=json_body(GoldenUpdate),
    summary="Edit a golden example's input, prompt or output (admins)",
)
def edit_golden(
    actor: AdminActor,
    session: DbSession,
    golden_id: GoldenIdPath,
    data: Annotated[GoldenUpdate, body_of(GoldenUpdate)],
) -> Response:
    g = service.get(session, account_pk=actor.account_pk, golden_id=golden_id)
    service.edit(
        session,
        golden=g,
        input=[t.model_dump() for t in data.input] if data.input is not None else None,
        prompt=data.prompt,
        output=data.output,
    )
    names = service.names_for(session, [g])
    return JSON(service.golden_out(g, account_sid=actor.account_sid, names=names))


@router.delete(
    "/v1/GoldenExamples/{gid}",
    status_code=204,
    responses=STAFF_READ,
    summary="Delete a golden example (admins)",
)
def delete_golden(actor: AdminActor, session: DbSession, golden_id: GoldenIdPath) -> Response:
    g = service.get(session, account_pk=actor.account_pk, golden_id=golden_id)
    service.remove(session, golden=g)
    return no_content()


@router.get(
    "/v1/PreferencePairs",
    response_model=PairList,
    responses=STAFF_READ,
    summary="List preference pairs, newest first (admins and members)",
)
def list_pairs(
    request: Request,
    actor: StaffActor,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    assistant_id: Annotated[str | None, Query(alias="AssistantId", max_length=64)] = None,
    status: Annotated[Status | None, Query(alias="Status")] = None,
) -> Response:
    assistant_pk = None
    if assistant_id is not None:
        assistant_pk = assistants.get(
            session, account_pk=actor.account_pk, assistant_id=assistant_id
        ).pk
    page = service.list_pairs(
        session,
        account_pk=actor.account_pk,
        assistant_pk=assistant_pk,
        status=status,
        params=params,
    )
    names = service.names_for(session, pairs=page.items)
    items = [service.pair_out(p, account_sid=actor.account_sid, names=names) for p in page.items]
    return JSON(envelope(request, "preference_pairs", params, page, items))


@router.get(
    "/v1/PreferencePairs/{pid}",
    response_model=PairOut,
    responses=STAFF_READ,
    summary="Fetch a preference pair (admins and members)",
)
def fetch_pair(actor: StaffActor, session: DbSession, pair_id: PairIdPath) -> Response:
    p = service.get_pair(session, account_pk=actor.account_pk, pair_id=pair_id)
    names = service.names_for(session, pairs=[p])
    return JSON(service.pair_out(p, account_sid=actor.account_sid, names=names))
