"""Base schemas with the house input rules, and the error body."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

ID_MAX = 256


class InputModel(BaseModel):
    """Request bodies: unknown fields are rejected, types are strict (no "0.5" for 0.5),
    numbers are finite (no NaN, no Infinity)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, str_strip_whitespace=False, allow_inf_nan=False
    )


_BODY_RULES = (
    "A field may also be given under its camelCase name (listed in `x-aliases`), once or "
    "with the same value under both names; `null` on an optional field is the field left out."
)


def _document_body_rules(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """OpenAPI: each field's camelCase spelling next to it (``x-aliases``), and the rules."""
    spellings: dict[str, str] = getattr(model, "camel_spellings", {})
    properties = schema.get("properties", {})
    for camel, name in spellings.items():
        prop = properties[name]
        prop["x-aliases"] = [camel]
        note = f"Also accepted as `{camel}`."
        prop["description"] = f"{prop['description']} {note}" if "description" in prop else note
    schema["description"] = f"{schema.get('description', '')} {_BODY_RULES}".strip()


def _same_json(a: Any, b: Any) -> bool:
    """The same JSON value (so 1 is not true, and key order does not matter)."""
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        b, option=orjson.OPT_SORT_KEYS
    )


class TwilioBody(InputModel):
    """The body of a Twilio-compatible write (Feedbacks, Messages, Assistants), with two rules
    on top of InputModel's, applied here once for every field of every such body:

    - **camelCase spellings.** A field is also accepted under its camelCase spelling
      (``sessionId`` for ``session_id``, ``personalityPrompt``, ``perceptionEngineEnabled``
      inside ``customer_ai``): Twilio's Node library sends the objects its TypeScript typings
      and its own request classes build, and those carry camelCase properties. One field
      given under both spellings must hold one value: the same value twice is accepted, two
      different values are refused (60017, naming the field). Any other name stays unknown
      (60007).
    - **null is the field left out**, on every optional field: a create takes the default,
      an update keeps the current value. Twilio's libraries send null for what the caller did
      not set (Ruby sends every field of its request class, null included), so null can
      never mean "clear". On a required field null is a wrong type (60003).
    """

    model_config = ConfigDict(json_schema_extra=_document_body_rules)

    # camelCase spelling -> field name, and the optional fields, per model (set below)
    camel_spellings: ClassVar[dict[str, str]] = {}
    optional_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.camel_spellings = {
            to_camel(name): name for name in cls.model_fields if to_camel(name) != name
        }
        cls.optional_fields = frozenset(
            name for name, info in cls.model_fields.items() if not info.is_required()
        )

    @model_validator(mode="before")
    @classmethod
    def _one_spelling_and_null_as_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        spellings, optional = cls.camel_spellings, cls.optional_fields
        # the common body (snake_case, no null) is passed through untouched
        if not any(k in spellings or (v is None and k in optional) for k, v in data.items()):
            return data
        out: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        given: dict[str, Any] = data
        for key, value in given.items():
            name = spellings.get(key, key)
            if value is None and name in optional:
                continue
            if name not in out:
                out[name], given_as[name] = value, key
            elif not _same_json(out[name], value):
                raise PydanticCustomError(
                    "field_given_twice",
                    "Field '{field}' is given twice, as '{first}' and '{second}', with "
                    "different values",
                    {"field": name, "first": given_as[name], "second": key},
                )
        return out


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
