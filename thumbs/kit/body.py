"""Reading request bodies: size limit, content type, JSON (with a form fallback), fields
given twice and numbers that are not finite, and the mapping of Pydantic's validation errors
onto thumbs' stable codes.

A route declares its body with ``body_of``; the request's unit of work (``db_session``)
reads and validates that body before it begins, whatever order the handler lists its
dependencies in, so a malformed body costs no query."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import Request

from thumbs.kit import chars
from thumbs.kit import errors as E
from thumbs.kit.intake import too_large
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
_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


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
    if kind == "finite_number":
        return not_finite(field)
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


def not_finite(field: str) -> E.ThumbsError:
    return E.InvalidField(
        E.OUT_OF_RANGE,
        field,
        f"Field '{field}' must be a finite number (NaN and Infinity are not accepted)",
    )


def repeated(field: str) -> E.ThumbsError:
    return E.InvalidField(E.FIELD_GIVEN_TWICE, field, f"Field '{field}' is given more than once")


def refuse_repeated(keys: Iterable[str]) -> None:
    """Raise 60017 for the first key seen twice."""
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise repeated(key)
        seen.add(key)


def validate_fields(model: type[M], data: dict[str, Any], *, raw: bytes | None = None) -> M:
    """Validate values that do not come from a request body (CLI options, a decoded line of
    a file) with the same rules and errors as a body. Given the ``raw`` bytes the values
    were decoded from, the NUL check walks the values only when those bytes can hold one."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise raise_validation(exc) from None
    if raw is None or _has_nul_marker(raw):
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
                raise too_large(MAX_BODY_BYTES)
        except ValueError:
            raise E.ThumbsError(E.MALFORMED_BODY, "Invalid Content-Length header") from None
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large(MAX_BODY_BYTES)
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
    data = dict(pairs)
    if len(data) != len(pairs):
        refuse_repeated(key for key, _ in pairs)
    return data


async def refuse_repeated_form_fields(request: Request) -> None:
    """A dependency for HTML form posts (the console): no field is given twice (the parsed
    form is kept on the request, so the handler's own Form fields reuse it)."""
    if request.headers.get("content-type", "").startswith(chars.FORM_TYPES):
        form = await request.form()
        refuse_repeated(key for key, _ in form.multi_items())


# The end of a key in a JSON text: a closing quote, then a colon. A quote inside a string is
# always escaped, and no value is followed by a colon, so this counts every key (and, rarely,
# a string's escaped quote before a colon, which only sends the body the slow way).
_KEY_END = re.compile(rb'"[ \t\n\r]*:')
_CONTAINERS = (dict, list)


def _keys_kept(value: Any) -> int:
    """The keys of every object in a value orjson parsed (a repeated key is kept once)."""
    items: Iterable[Any]
    if type(value) is dict:
        count, items = len(value), value.values()
    elif type(value) is list:
        count, items = 0, value
    else:
        return 0
    for item in items:
        if type(item) in _CONTAINERS:
            count += _keys_kept(item)
    return count


_SCALARS = (str, int, float, bool, type(None))


def _flat_colons(parsed: Any, raw: bytes) -> int:
    """The colons the text of a flat object holds when no key is given twice: one per key
    kept, and those inside its keys and string values. A colon of the text is either after
    a key or inside a string, and without ``\\u`` escapes a string holds in the text the
    colons it holds once read; a key given twice adds its colon (and its strings' colons)
    to the text, not to this count. -1 when the count cannot tell (nested values, escapes):
    cheaper than the pattern below for records whose strings hold colons (dates)."""
    if type(parsed) is not dict or b"\\u" in raw:
        return -1
    count = len(parsed)
    for key, value in parsed.items():
        count += key.count(":")
        kind = type(value)
        if kind is str:
            count += value.count(":")
        elif kind not in _SCALARS:
            return -1
    return count


def _compact_form(parsed: Any, raw: bytes) -> bool:
    """Whether ``raw`` is, but for a line break after it, the compact text orjson writes of
    what it parsed: that text holds each key once, so ``raw`` gives no key twice. Files
    written by a program (a JSONL export, one record a line) are mostly this text; cheaper
    than counting the colons of every string (dates hold colons)."""
    try:
        text = orjson.dumps(parsed)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        return False
    return len(raw) - len(text) <= 2 and raw.startswith(text)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as the standard library's parser read it: every key, in order."""


def _walk(value: Any, path: tuple[str | int, ...]) -> None:
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, item in value:
            if key in seen:
                raise repeated(".".join(map(str, (*path, key))))
            seen.add(key)
            _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, (*path, index))
    elif isinstance(value, float) and not math.isfinite(value):
        raise not_finite(".".join(map(str, path)) or "body")


def check_json(raw: bytes) -> None:
    """Refuse a key given twice in one object, and NaN or Infinity anywhere (no JSON number
    is either), naming the field. Validators keep the last of repeated keys and read NaN;
    orjson keeps one of repeated keys and refuses NaN. So when orjson parses the body and
    keeps as many keys as the text holds, there is neither: the hot path costs one orjson
    parse and either orjson's compact text of it compared with the body (a body sent
    compact) or a count of colons, about a microsecond for a feedback. Otherwise the standard
    library's parser, which keeps every key and reads NaN, finds which field it is; a body
    that is not JSON at all is left to validation."""
    with contextlib.suppress(ValueError):  # not JSON at all: left to validation
        loads_checked(raw)


_NOT_JSON = object()


def loads_checked(raw: bytes) -> Any:
    """The value of the JSON text ``raw`` (orjson's parse) after :func:`check_json`'s
    refusals (60017, 60004); ``ValueError`` when ``raw`` is not JSON. For readers that decode
    JSON themselves (a JSONL import) and must refuse what a body would."""
    parsed: Any
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = _NOT_JSON
    else:
        if _compact_form(parsed, raw):
            return parsed
        kept = _keys_kept(parsed)
        colons = raw.count(b":")
        # every key is followed by a colon: as many colons as keys kept settles it at once
        if (
            colons == kept
            or colons == _flat_colons(parsed, raw)
            or (len(_KEY_END.findall(raw)) == kept)
        ):
            return parsed
    try:
        tree = json.loads(raw, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        raise ValueError("not JSON") from None
    _walk(tree, ())
    if parsed is _NOT_JSON:
        raise ValueError("not JSON")
    return parsed


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
def _has_nul_marker(raw: bytes) -> bool:
    """Whether ``raw`` may hold a NUL character (JSON-escaped, form-encoded or raw)."""
    return b"\\u0000" in raw or b"%00" in raw or b"\x00" in raw


def parse_fields(model: type[M], data: dict[str, Any]) -> M:
    """Validate string values (a form body, a CSV record) into ``model``, with numbers where
    the model wants numbers, and the rules and errors of a body."""
    try:
        parsed = model.model_validate(_coerce_form(model, data), strict=False)
    except ValidationError as exc:
        raise raise_validation(exc) from None
    if any(isinstance(v, str) and chars.NUL in v for v in data.values()):
        chars.check_model(parsed)
    return parsed


def parse_body(model: type[M], raw: bytes, media_type: str, *, required: bool = True) -> M:
    """Validate ``raw`` into ``model`` and refuse NUL characters in its strings."""
    parsed = _parse_body(model, raw, media_type, required=required)
    if _has_nul_marker(raw):
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
        return parse_fields(model, _form_to_dict(raw))
    check_json(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = first_error(exc)
        if first["type"] == "json_invalid":
            stripped = raw.lstrip()
            if stripped[:1] not in (b"{", b"[", b'"') and b"=" in raw:
                return parse_fields(model, _form_to_dict(raw))
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
    ``Annotated[Model, body_of(Model)]`` so that the handler itself can stay synchronous.
    ``db_session`` runs it before the unit of work begins (``read_route_body``)."""
    from fastapi import Depends

    return Depends(_body_reader(model, required))


BodyReader = Callable[[Request], Awaitable[BaseModel]]
_READERS: set[BodyReader] = set()
_PARSED = "thumbs.body"


@cache
def _body_reader(model: type[BaseModel], required: bool) -> BodyReader:
    async def read_declared_body(request: Request) -> BaseModel:
        parsed: BaseModel | None = request.scope.get(_PARSED)
        if parsed is None:
            parsed = await read_body(request, model, required=required)
            request.scope[_PARSED] = parsed
        return parsed

    _READERS.add(read_declared_body)
    return read_declared_body


def _find_reader(dependant: Dependant) -> BodyReader | None:
    for sub in dependant.dependencies:
        if sub.call in _READERS:
            return sub.call
        found = _find_reader(sub)
        if found is not None:
            return found
    return None


_ROUTE_READER = "thumbs_body_reader"  # kept on the route: found once per route


async def read_route_body(request: Request) -> None:
    """Read and validate the body the matched route declares with ``body_of``, if any (the
    handler's own dependency then returns it)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return
    try:
        reader = getattr(route, _ROUTE_READER)
    except AttributeError:
        reader = _find_reader(dependant)
        setattr(route, _ROUTE_READER, reader)
    if reader is not None:
        await reader(request)
