"""Request dependencies shared by every domain: the store, one unit of work per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import Request

if TYPE_CHECKING:
    from thumbs.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def db_session(request: Request) -> Iterator[Session]:
    """One unit of work: the session commits once, after the handler returned and before
    the response is sent; services only flush."""
    with get_runtime(request).store.session() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session, scope="function")]
RuntimeDep = Annotated["Runtime", Depends(get_runtime)]
