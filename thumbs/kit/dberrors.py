"""Store failures as the rest of the house sees them: "busy or unreachable" (answered 503)
or a failure of the statement itself, and a one-line description for logs that never
carries bound values. Only SQLAlchemy's exception types are needed, so this sits on the
lowest floor, where the error handlers can use it."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def store_unavailable(exc: BaseException) -> bool:
    """True for the failures that mean "the store is busy or cannot be reached" (a pool
    wait that timed out, a refused or lost connection, a lock or statement timeout), as
    opposed to a failure of the statement itself (a constraint, a bug)."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return False


def describe(exc: BaseException) -> str:
    """A store error in one line, for logs: the driver's error class and primary message and
    the start of the statement, never the values (neither the bound parameters nor the
    ``DETAIL`` with a row's values that PostgreSQL adds to constraint errors)."""
    if not isinstance(exc, DBAPIError):
        return f"{type(exc).__name__}: {exc}"
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    message = getattr(diag, "message_primary", None) or str(orig).split("\n", 1)[0]
    statement = " ".join((exc.statement or "").split())
    if len(statement) > 160:
        statement = statement[:160] + "…"
    return f"{type(orig).__name__}: {message} [SQL: {statement}]"
