"""OpenAPI: request bodies read by thumbs.kit.body, and error responses that are true."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_EXTRA_SCHEMAS: dict[str, Any] = {}

# the request header that names the user a request acts for (thumbs.auth.deps)
IDENTITY_HEADER = "X-Thumbs-Identity"


_SCALAR_TYPES = {"string", "number", "integer", "boolean", "null"}


def _is_scalar(prop: dict[str, Any]) -> bool:
    if "anyOf" in prop:
        return all(_is_scalar(branch) for branch in prop["anyOf"])
    return "$ref" not in prop and prop.get("type", "string") in _SCALAR_TYPES


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The request body of an operation: JSON, and form data too when every field is a
    scalar (a form cannot carry an object or a list)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        _EXTRA_SCHEMAS[name] = definition
    _EXTRA_SCHEMAS[model.__name__] = schema
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    content = {"application/json": {"schema": ref}}
    if all(_is_scalar(prop) for prop in schema.get("properties", {}).values()):
        content["application/x-www-form-urlencoded"] = {"schema": ref}
    return {"requestBody": {"required": required, "content": content}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            servers=app.servers,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in _EXTRA_SCHEMAS.items():
            components.setdefault(name, definition)
        error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        # thumbs answers validation failures with 400 and its own body, never FastAPI's 422
        for path in schema.get("paths", {}).values():
            for op in path.values():
                responses = op.get("responses", {})
                if any(p.get("name") == IDENTITY_HEADER for p in op.get("parameters", [])):
                    # the header gives the request a role, which the operation may refuse
                    responses.setdefault(
                        "403",
                        {
                            "description": "The caller's role does not allow this (an end "
                            "user acts only for themselves)",
                            "content": error_body,
                        },
                    )
                res422 = responses.get("422")
                if res422 and "HTTPValidationError" in str(res422):
                    del responses["422"]
                    responses.setdefault(
                        "400", {"description": "Invalid request", "content": error_body}
                    )
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
