"""Request dependencies shared by every domain: the store, one unit of work per request."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends
from fastapi._compat import Undefined, field_annotation_is_sequence
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _validate_value_with_model_field,
    get_dependant,
    get_typed_signature,
    request_params_to_args,
)
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
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

    The session is opened lazily in the handler's own thread. A unit of work that wrote
    commits in that thread as the handler returns (:class:`UnitOfWorkRoute`): on SQLite
    its transaction holds the file's write lock from its first write to its commit, and a
    commit left for later waited for the loop twice (back from the handler's thread, then
    out to another) while every other writer waited for the lock. A read-only SQLite
    transaction ends on the loop (it touches no disk, and every thread hand-off under load
    costs a GIL switch); any other commit is handed to a worker thread.

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
    if not session.in_transaction() or (store.sqlite and not session.info.get("wrote")):
        _finish(session, True)  # committed in the handler's thread, or a read on SQLite
    else:
        await run_in_threadpool(_finish, session, True)


DbSession = Annotated[Session, Depends(db_session, scope="function")]


def unit_of_work(endpoint: Callable[..., Any]) -> str | None:
    """The name of a sync handler's :data:`DbSession` parameter, if it has one."""
    if inspect.iscoroutinefunction(endpoint) or not inspect.isfunction(endpoint):
        return None
    for param in get_typed_signature(endpoint).parameters.values():
        for meta in typing.get_args(param.annotation)[1:]:
            if isinstance(meta, DependsParam) and meta.dependency is db_session:
                return param.name
    return None


def commits_in_its_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync handler that commits its unit of work, if it wrote, in its own thread as it
    returns (see :func:`db_session`); any other handler unchanged."""
    name = unit_of_work(endpoint)
    if name is None:
        return endpoint

    @functools.wraps(endpoint)
    def handler(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        session: Session = kwargs[name]
        if session.info.get("wrote") and session.in_transaction():
            session.commit()
        return result

    return handler


class UnitOfWorkRoute(APIRoute):
    """The route class of every router: its handler commits what it wrote before its
    thread returns to the loop (:func:`commits_in_its_thread`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, commits_in_its_thread(endpoint), **kwargs)


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
