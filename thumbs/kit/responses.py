"""Fast JSON responses (orjson), used by every handler."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def no_content() -> Response:
    return Response(status_code=204)
