"""Request dependencies shared by every domain: the store, one unit of work per request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends
from fastapi._compat import Undefined, field_annotation_is_sequence
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _validate_value_with_model_field,
    get_dependant,
    request_params_to_args,
)
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from thumbs.kit.body import read_route_body

if TYPE_CHECKING:
    from thumbs.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, _ctx: UOWTransaction) -> None:
    session.info["wrote"] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def db_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work: the session commits once, after the handler returned and before
    the response is sent; services only flush.

    The session is opened lazily in the handler's own thread; only a commit that writes
    (or any commit on PostgreSQL) is handed to a worker thread. A read-only SQLite
    transaction ends on the loop: it touches no disk, and every thread hand-off under
    load costs a GIL switch.

    The route's body is read and validated first: no store work starts before it is known
    to be valid (and it has already arrived in full: ``thumbs.kit.intake``), so a client's
    slowness or a malformed body never holds a store connection."""
    await read_route_body(request)
    store = get_runtime(request).store
    session = store.sessions()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_finish, session, False)
        raise
    if store.sqlite and not session.info.get("wrote"):
        _finish(session, True)
    else:
        await run_in_threadpool(_finish, session, True)


DbSession = Annotated[Session, Depends(db_session, scope="function")]
RuntimeDep = Annotated["Runtime", Depends(get_runtime)]


class QueryOf:
    """The query parameters a FastAPI dependency declares, validated by FastAPI's own code
    for a plain route: the same values (by parameter name) and the same errors (raised as
    ``RequestValidationError``, they get the same answer), without FastAPI's per-request
    resolution of the dependency.

    A scalar parameter with one name (all of thumbs') is read by that name and validated by
    FastAPI's own step for one value; working out again on every request what kind of
    parameter it is cost FastAPI more than the validation. Any other kind of parameter
    goes through FastAPI's whole routine."""

    def __init__(self, dependency: Callable[..., Any]) -> None:
        self.fields = get_dependant(path="", call=dependency).query_params
        self._scalars: list[tuple[Any, str]] | None = [
            (field, _get_param_aliases(field)[0][1]) for field in self.fields
        ]
        for field in self.fields:
            if (
                _get_param_model(field) is not None
                or field_annotation_is_sequence(field.field_info.annotation)
                or len(_get_param_aliases(field)) != 1
            ):
                self._scalars = None

    def __call__(self, request: Request) -> tuple[dict[str, Any], list[Any]]:
        query = request.query_params
        if self._scalars is None:
            return request_params_to_args(self.fields, query)
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for field, name in self._scalars:
            raw = query.get(name)
            value, problems = _validate_value_with_model_field(
                field=field,
                value=Undefined if raw is None else raw,
                values=values,
                loc=("query", name),
            )
            if problems:
                errors.extend(problems)
            else:
                values[field.name] = value
        return values, errors
