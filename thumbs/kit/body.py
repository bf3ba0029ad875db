"""Reading request bodies: size limit, content type, JSON (with a form fallback), and the
mapping of Pydantic's validation errors onto thumbs' stable codes."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import Request

from thumbs.kit import chars
from thumbs.kit import errors as E
from thumbs.kit.schemas import TwilioBody

MAX_BODY_BYTES = 64 * 1024

M = TypeVar("M", bound=BaseModel)

_TYPE_ERRORS = {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "string_type",
    "bool_type",
    "bool_parsing",
    "dict_type",
    "list_type",
    "model_type",
    "model_attributes_type",
    "datetime_type",
    "datetime_parsing",
    "is_instance_of",
    "none_required",
    "decimal_type",
}
_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
}


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header"))


def error_from_pydantic(err: ErrorDetails, *, query: bool = False) -> E.ThumbsError:
    kind = err["type"]
    field = _field_name(err["loc"]) or "body"
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    msg = str(err["msg"]).removeprefix("Value error, ")
    if query:
        return E.InvalidField(E.INVALID_QUERY, field, f"Query parameter {field}: {msg}")
    if kind == "missing":
        return E.InvalidField(E.MISSING_FIELD, field, f"Missing required field '{field}'")
    if kind == "field_given_twice":
        field = _field_name((*err["loc"], ctx["field"]))
        return E.InvalidField(
            E.FIELD_GIVEN_TWICE,
            field,
            f"Field '{field}' is given twice, as '{ctx['first']}' and '{ctx['second']}', "
            "with different values",
            spellings=[ctx["first"], ctx["second"]],
        )
    if kind == "extra_forbidden":
        return E.InvalidField(E.UNKNOWN_FIELD, field, f"Unknown field '{field}'")
    if kind in _TYPE_ERRORS:
        if err.get("input", "") is None:
            return E.InvalidField(E.WRONG_TYPE, field, f"Field '{field}' must not be null")
        return E.InvalidField(
            E.WRONG_TYPE, field, f"Field '{field}' has the wrong type: {err['msg']}"
        )
    if kind in _RANGE_ERRORS:
        limits = {k: v for k, v in ctx.items() if k in {"ge", "gt", "le", "lt"}}
        return E.InvalidField(E.OUT_OF_RANGE, field, f"Field '{field}': {err['msg']}", **limits)
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        return E.InvalidField(
            E.TOO_LONG,
            field,
            f"Field '{field}' is longer than {limit} characters",
            max_length=limit,
        )
    if kind in {"string_too_short", "string_blank"}:
        return E.InvalidField(E.EMPTY_VALUE, field, f"Field '{field}' must not be empty")
    if kind == "string_pattern_mismatch":
        return E.InvalidField(
            E.PATTERN_MISMATCH,
            field,
            f"Field '{field}' does not match the pattern {ctx.get('pattern')}",
            pattern=ctx.get("pattern"),
        )
    if kind in {"literal_error", "enum"}:
        return E.InvalidField(E.INVALID_VALUE, field, f"Field '{field}': {err['msg']}")
    if kind in {"json_invalid", "json_type"}:
        return E.ThumbsError(E.MALFORMED_BODY, "The request body is not valid JSON", field="body")
    return E.InvalidField(E.INVALID_VALUE, field, f"Field '{field}': {msg}")


def validate_fields(model: type[M], data: dict[str, Any]) -> M:
    """Validate values that do not come from a request body (CLI options) with the same
    rules and errors as a body."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise raise_validation(exc) from None
    chars.check_model(parsed)
    return parsed


def first_error(exc: ValidationError) -> ErrorDetails:
    """The error to report: an unknown field before the others (a misspelt field explains
    the "missing" one it was meant to be)."""
    errors = exc.errors(include_url=False)
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def raise_validation(exc: ValidationError, *, query: bool = False) -> E.ThumbsError:
    return error_from_pydantic(first_error(exc), query=query)


def _media_type(request: Request) -> str:
    raw = request.headers.get("content-type", "")
    return raw.split(";", 1)[0].strip().lower()


async def read_raw(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > MAX_BODY_BYTES:
                raise E.ThumbsError(E.BODY_TOO_LARGE, "The request body is larger than 64 KiB")
        except ValueError:
            raise E.ThumbsError(E.MALFORMED_BODY, "Invalid Content-Length header") from None
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise E.ThumbsError(E.BODY_TOO_LARGE, "The request body is larger than 64 KiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _form_to_dict(raw: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise E.ThumbsError(
            E.MALFORMED_BODY, "The request body is neither JSON nor form data", field="body"
        ) from None
    return dict(pairs)


def _coerce_form(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Form values are strings; turn numeric-looking values into numbers where the model
    wants numbers, so that validation still applies ranges and types."""
    out: dict[str, Any] = {}
    fields = model.model_fields
    spellings = model.camel_spellings if issubclass(model, TwilioBody) else {}
    for key, value in data.items():
        info = fields.get(spellings.get(key, key))
        if info is not None and info.annotation in (float, float | None):
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
        elif info is not None and info.annotation in (bool, bool | None):
            out[key] = {"true": True, "false": False}.get(value.lower(), value)
        else:
            out[key] = value
    return out


# A NUL can only be in a body's strings if the raw bytes hold one of these (JSON escapes it,
# forms percent-encode it), so the walk over the parsed values runs only then.
_NUL_MARKERS = (b"\\u0000", b"%00", b"\x00")


def parse_body(model: type[M], raw: bytes, media_type: str, *, required: bool = True) -> M:
    """Validate ``raw`` into ``model`` and refuse NUL characters in its strings."""
    parsed = _parse_body(model, raw, media_type, required=required)
    if any(marker in raw for marker in _NUL_MARKERS):
        chars.check_model(parsed)
    return parsed


def _parse_body(model: type[M], raw: bytes, media_type: str, *, required: bool) -> M:
    """JSON first; form data when the content type says so or when a body labelled JSON is
    really form-encoded (the async Twilio client does that)."""
    # an optional body left out (blanks are not a body), or sent as the empty JSON array
    # that twilio-php's json_encode makes of an empty request
    if not required and raw in (b"", b"[]"):
        return model.model_validate({})
    if not raw.strip():
        raise E.ThumbsError(
            E.MALFORMED_BODY, "The request body is empty; a JSON object is required", field="body"
        )
    if media_type == "application/x-www-form-urlencoded" and not raw.lstrip().startswith(b"{"):
        data = _coerce_form(model, _form_to_dict(raw))
        try:
            return model.model_validate(data, strict=False)
        except ValidationError as exc:
            raise raise_validation(exc) from None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = first_error(exc)
        if first["type"] == "json_invalid":
            stripped = raw.lstrip()
            if stripped[:1] not in (b"{", b"[", b'"') and b"=" in raw:
                data = _coerce_form(model, _form_to_dict(raw))
                try:
                    return model.model_validate(data, strict=False)
                except ValidationError as exc2:
                    raise raise_validation(exc2) from None
            raise E.ThumbsError(
                E.MALFORMED_BODY, "The request body is not valid JSON", field="body"
            ) from None
        if first["type"] == "model_type" and not first["loc"]:
            raise E.ThumbsError(
                E.MALFORMED_BODY, "The request body must be a JSON object", field="body"
            ) from None
        raise error_from_pydantic(first) from None


_ACCEPTED = {"application/json", "application/x-www-form-urlencoded", ""}


async def read_body(request: Request, model: type[M], *, required: bool = True) -> M:
    media_type = _media_type(request)
    if media_type not in _ACCEPTED and not media_type.endswith("+json"):
        raise E.ThumbsError(
            E.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {media_type!r} is not supported; send application/json",
            field="Content-Type",
        )
    raw = await read_raw(request)
    return parse_body(model, raw, media_type, required=required)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def body_of(model: type[M], *, required: bool = True) -> Any:
    """A dependency that reads and validates the body as ``model``; use it with
    ``Annotated[Model, body_of(Model)]`` so that the handler itself can stay synchronous."""
    from fastapi import Depends

    async def dependency(request: Request) -> M:
        return await read_body(request, model, required=required)

    return Depends(dependency)
