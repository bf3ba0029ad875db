"""NUL characters (U+0000) are refused wherever text comes in: bodies, paths, query
parameters and the headers stored as text. PostgreSQL cannot hold them in text columns,
and a value SQLite would keep but PostgreSQL refuses must be refused on both (400, code
60016), before it reaches a query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.requests import Request

from thumbs.kit import errors as E

NUL = "\x00"


def invalid(field: str) -> E.InvalidField:
    return E.InvalidField(
        E.INVALID_CHARACTER, field, f"Field '{field}' holds a NUL character (U+0000)"
    )


def check_text(value: str, field: str) -> None:
    if NUL in value:
        raise invalid(field)


def _first_nul(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                return where
            found = _first_nul(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _first_nul(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def check_model(model: BaseModel) -> None:
    """Refuse a validated body whose strings (at any depth, keys included) hold NUL."""
    field = _first_nul(model, "")
    if field is not None:
        raise invalid(field)


def check_url(path: str, query_string: bytes) -> None:
    """Refuse a request whose decoded path or query parameters hold NUL."""
    if NUL in path:
        raise invalid("path")
    if b"%00" in query_string or b"\x00" in query_string:
        pairs = parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
        for key, value in pairs:
            if NUL in key or NUL in value:
                raise invalid(key.replace(NUL, ""))


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_nul_in_form(request: Request) -> None:
    """A dependency for HTML form posts (the console): no field of the form holds NUL. The
    parsed form is kept on the request, so the handler's own Form fields reuse it."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return
    form = await request.form()
    for key, value in form.multi_items():
        if NUL in key:
            raise invalid(key.replace(NUL, ""))
        if isinstance(value, str):
            check_text(value, key)
