from __future__ import annotations

from starlette.requests import Request


def base_url(request: Request) -> str:
    """Scheme, host and root path of the request, without a trailing slash."""
    return str(request.base_url).rstrip("/")
