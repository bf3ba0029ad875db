"""The no-database reference for the create benchmark: the same FastAPI stack, the same
authentication header, the same body parsing and validation (thumbs' own reader and the
same Pydantic model) and a JSON response of the same size, but no store at all.

``idiomatic`` is the textbook FastAPI endpoint (a body model parameter, a dict returned)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from thumbs.feedback.schemas import FeedbackCreate
from thumbs.kit.body import body_of

app = FastAPI()

_TEMPLATE = {
    "id": "aia_fdbk_01a20643-924c-7bdc-95be-5b455f18eed1",
    "assistant_id": "aia_asst_01a20643-914c-76c0-bf8e-b7bb9305e10b",
    "account_sid": "AC192203353ecbc47109ddceaea27e183a",
    "user_sid": None,
    "date_created": "2026-11-23T02:37:01Z",
    "date_updated": "2026-11-23T02:37:01Z",
}


@app.post("/v1/Assistants/{id}/Feedbacks", status_code=201)
async def parse_only(
    request: Request, id: str, data: Annotated[FeedbackCreate, body_of(FeedbackCreate)]
) -> Response:
    body = {**_TEMPLATE, **data.model_dump()}
    return Response(orjson.dumps(body), status_code=201, media_type="application/json")


@app.post("/idiomatic/{id}/Feedbacks", status_code=201)
async def idiomatic(id: str, data: FeedbackCreate) -> dict[str, object]:
    return {**_TEMPLATE, **data.model_dump()}
