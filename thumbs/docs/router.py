from __future__ import annotations

from html import escape

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from thumbs.kit import errors as E
from thumbs.kit.deps import UnitOfWorkRoute
from thumbs.kit.responses import JSON

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Docs"], include_in_schema=False)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;
margin:2rem auto;padding:0 1rem}}code{{background:#f3f3f3;padding:0 .2rem}}</style>
</head><body>{body}</body></html>"""


@router.get("/errors")
def error_index() -> Response:
    rows = "".join(
        f"<tr><td><a href='/errors/{c.code}'>{c.code}</a></td><td>{c.status}</td>"
        f"<td>{escape(c.title)}</td></tr>"
        for c in sorted(E.catalogue().values(), key=lambda c: c.code)
    )
    body = (
        "<h1>thumbs error codes</h1><table><tr><th>code</th><th>HTTP</th><th>meaning</th>"
        f"</tr>{rows}</table>"
    )
    return HTMLResponse(_PAGE.format(title="thumbs error codes", body=body))


@router.get("/errors/{code}")
def error_page(code: int, format: str | None = None) -> Response:
    entry = E.catalogue().get(code)
    if entry is None:
        raise E.ThumbsError(E.NOT_FOUND, f"There is no error code {code}")
    if format == "json":
        return JSON(
            {
                "code": entry.code,
                "status": entry.status,
                "title": entry.title,
                "description": entry.description,
            }
        )
    body = (
        f"<h1>Error {entry.code}: {escape(entry.title)}</h1><p>HTTP status "
        f"<code>{entry.status}</code></p><p>{escape(entry.description)}</p>"
        "<p><a href='/errors'>All error codes</a></p>"
    )
    return HTMLResponse(_PAGE.format(title=f"Error {entry.code}", body=body))
