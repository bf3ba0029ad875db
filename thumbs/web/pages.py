"""Rendering: one Jinja2 environment with autoescape on for every template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from thumbs.auth.console import ConsoleUser
from thumbs.kit.paging import Cursor, Page, encode_token, list_scope
from thumbs.kit.timefmt import iso
from thumbs.web.deps import base_path
from thumbs.web.markdown import markdown_filter

HERE = Path(__file__).parent

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["iso"] = iso
env.filters["markdown"] = markdown_filter

NAV = (
    ("simulator", "Simulator"),
    ("review", "Review queue"),
    ("golden", "Golden examples"),
    ("settings", "Settings"),
    ("feedback", "Feedback explorer"),
    ("analytics", "Analytics"),
)
# the account's setup: (path, label, admins only)
ACCOUNT_NAV = (
    ("assistants", "Assistants", False),
    ("users", "Users", True),
    ("keys", "API keys", True),
)


def page(
    request: Request,
    template: str,
    *,
    user: ConsoleUser | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    values: dict[str, Any] = {"active": "", "error": None, "notice": None}
    values.update(context)
    html = env.get_template(template).render(
        request=request,
        base=base_path(request),
        user=user,
        nav=NAV,
        account_nav=ACCOUNT_NAV,
        **values,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


Link = list[tuple[str, str]]


def keyset_links(request: Request, result: Page[Any]) -> tuple[Link | None, Link | None]:
    """The query strings of the next and previous pages: the current filters and a
    ``PageToken`` (keyset paging: stable while rows are added)."""
    kept = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in ("PageToken", "Page") and v
    ]
    scope = list_scope(request)
    forward = backward = None
    if result.has_next and result.last_key is not None:
        token = encode_token(Cursor(result.last_key, forward=True), scope)
        forward = [*kept, ("PageToken", token)]
    if result.has_prev and result.first_key is not None:
        token = encode_token(Cursor(result.first_key, forward=False), scope)
        backward = [*kept, ("PageToken", token)]
    return forward, backward
