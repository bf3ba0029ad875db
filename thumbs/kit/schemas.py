"""Base schemas with the house input rules, and the error body."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

ID_MAX = 256


class InputModel(BaseModel):
    """Request bodies: unknown fields are rejected, types are strict (no "0.5" for 0.5),
    numbers are finite (no NaN, no Infinity)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, str_strip_whitespace=False, allow_inf_nan=False
    )


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("string_blank", "String should not be blank")
    return value


NotBlank = AfterValidator(_not_blank)
# A required free-form identifier or name: 1 to 256 characters, not only whitespace.
RequiredId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX), NotBlank]


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageMeta(OutputModel):
    first_page_url: str
    key: str
    next_page_url: str | None
    page: int
    page_size: int
    previous_page_url: str | None
    url: str


class ErrorDetails(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str | None = Field(default=None, description="The offending field, when one is.")


class ErrorBody(BaseModel):
    """Twilio's error body, plus ``details``."""

    code: int = Field(description="Stable thumbs/Twilio error code; see more_info.")
    message: str = Field(description="A human sentence saying what went wrong.")
    more_info: str = Field(description="URL of the documentation page for the code.")
    status: int = Field(description="The HTTP status, repeated.")
    details: ErrorDetails | None = None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses an operation can return."""
    descriptions = {
        400: "Invalid request (validation failure; see code and details.field)",
        401: "Missing or wrong credentials",
        403: "The user's role does not allow this",
        404: "Not found (or belongs to another account)",
        405: "Method not allowed",
        409: "Conflicts with the resource's state",
        413: "Body over 64 KiB",
        415: "Unsupported content type",
        422: "Idempotency key reused with a different request",
        502: "The assistant's responder failed (see code: 61001-61006)",
        503: "Store unavailable",
        504: "The assistant's responder timed out (61004)",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}


READ_ERRORS = error_responses(400, 401, 404)
WRITE_ERRORS = error_responses(400, 401, 404, 413, 415)
