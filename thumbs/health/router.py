"""``GET /healthz``: the process is alive (no store). ``GET /readyz``: it can serve, the
store is reachable and its schema is the one this server needs (503 otherwise). Neither
needs credentials; neither says more than ready or not (and, when not, why)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from thumbs.kit import errors as E
from thumbs.kit.deps import UnitOfWorkRoute, get_runtime
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import error_responses
from thumbs.store import migrate

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Operations"])


class Health(BaseModel):
    status: str


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Response:
    return JSON({"status": "ok"})


@router.get(
    "/readyz",
    response_model=Health,
    responses=error_responses(503),
    summary="Readiness: the store is reachable and its schema current (503 otherwise)",
)
async def readyz(request: Request) -> Response:
    runtime = get_runtime(request)
    # a store error here is answered 503 by the one handler (thumbs/kit/handlers.py)
    current = await run_in_threadpool(migrate.current_revision, runtime.store.engine)
    if current != runtime.schema_head:
        raise E.StoreUnavailable(
            f"The database schema is at {current or 'no revision'}; this server needs "
            f"{runtime.schema_head}: run `thumbs db upgrade`"
        )
    return JSON({"status": "ready"})
