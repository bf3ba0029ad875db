"""Twilio-style list paging on a keyset cursor.

``PageSize`` (default 50, values above 1000 are clamped to 1000, as Twilio clients send
``PageSize=limit``), ``Page`` (client state only, echoed in ``meta.page``), and
``PageToken``: an opaque cursor ``PT<base64url>`` naming the edge row of the previous page
and the list it belongs to (the path and the filters: a token is refused by another list).
Pages are fetched with ``WHERE key < cursor ORDER BY key DESC LIMIT n`` on an index, so a
page deep in a million rows costs what the first page costs, and rows inserted while a
client pages never make it skip or repeat a row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import orjson
from fastapi import Query
from sqlalchemy import ColumnElement, Connection, Engine, Integer, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from starlette.requests import Request

from thumbs.kit import errors as E
from thumbs.kit.driver import Prepared, pipelined

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_PAGE = 2**31 - 1  # Page is client state, but it is echoed and incremented in meta
MAX_KEY = 2**63 - 1  # keys are BIGINT primary keys
_PAGING_KEYS = {"PageSize", "Page", "PageToken"}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cursor:
    key: int
    forward: bool  # True: rows after this one in list order; False: rows before it


@dataclass(frozen=True, slots=True)
class PageParams:
    page_size: int
    page: int
    cursor: Cursor | None


def scope_for(path: str, query: Iterable[tuple[str, str]]) -> str:
    """What a token is valid for: the list's path and its filters (not the paging
    parameters, nor empty ones), in any order."""
    filters = sorted((k, v) for k, v in query if k not in _PAGING_KEYS and v)
    digest = hashlib.sha256(f"{path}?{urlencode(filters)}".encode())
    return base64.urlsafe_b64encode(digest.digest()[:9]).decode()


def list_scope(request: Request) -> str:
    return scope_for(request.url.path, request.query_params.multi_items())


def encode_token(cursor: Cursor, scope: str) -> str:
    raw = orjson.dumps({"k": cursor.key, "d": "n" if cursor.forward else "p", "l": scope})
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, scope: str) -> Cursor:
    bad = E.InvalidField(E.INVALID_PAGE_TOKEN, "PageToken", "PageToken is not valid for this list")
    if not token.startswith("PT") or len(token) > 200:
        raise bad
    payload = token[2:]
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise bad from None
    if not isinstance(data, dict):
        raise bad
    key, direction = data.get("k"), data.get("d")
    if type(key) is not int or not 0 <= key <= MAX_KEY or direction not in ("n", "p"):
        raise bad
    if data.get("l") != scope:
        raise bad
    return Cursor(key=key, forward=direction == "n")


async def page_params(
    request: Request,
    page_size: Annotated[
        int | None,
        Query(
            alias="PageSize",
            ge=1,
            description="Records per page: default 50; values above 1000 are treated as 1000.",
        ),
    ] = None,
    page: Annotated[
        int | None,
        Query(alias="Page", ge=0, le=MAX_PAGE, description="Page index, for client state."),
    ] = None,
    page_token: Annotated[
        str | None,
        # its length is checked with its content, so that every bad token is a 60009
        Query(alias="PageToken", description="Opaque cursor from meta URLs (≤ 200 chars)."),
    ] = None,
) -> PageParams:
    size = DEFAULT_PAGE_SIZE if page_size is None else min(page_size, MAX_PAGE_SIZE)
    cursor = decode_token(page_token, list_scope(request)) if page_token else None
    return PageParams(page_size=size, page=page or 0, cursor=cursor)


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    first_key: int | None
    last_key: int | None
    has_next: bool
    has_prev: bool


def _reading(params: PageParams, descending: bool) -> tuple[str | None, bool, bool]:
    """How a page is read: the comparison with the cursor's key (``"<"``, ``">"``, or None
    for the first page), whether rows are read in descending key order, and whether
    backwards (before the cursor: read in reverse list order, then flipped)."""
    cursor = params.cursor
    backwards = cursor is not None and not cursor.forward
    # list order is descending or ascending on key; reading backwards flips it
    read_desc = descending != backwards
    if cursor is None:
        return None, read_desc, backwards
    return ("<" if descending == cursor.forward else ">"), read_desc, backwards


def _page_of(rows: list[Any], params: PageParams, backwards: bool, key_of: Any) -> Page[Any]:
    """The page of the ``page_size + 1`` rows read (the extra one says there is more)."""
    n = params.page_size
    more = len(rows) > n
    rows = rows[:n]
    if backwards:
        rows.reverse()
    first = key_of(rows[0]) if rows else None
    last = key_of(rows[-1]) if rows else None
    if backwards:
        has_prev, has_next = more, True
    else:
        has_prev, has_next = params.cursor is not None, more
    return Page(items=rows, first_key=first, last_key=last, has_next=has_next, has_prev=has_prev)


def keyset_page(
    session: Session,
    stmt: Select[Any],
    key: InstrumentedAttribute[int],
    params: PageParams,
    *,
    descending: bool = True,
    key_of: Any = None,
) -> Page[Any]:
    """Run ``stmt`` (already filtered and tenant-scoped) one page at a time on ``key``."""
    relation, read_desc, backwards = _reading(params, descending)
    if params.cursor is not None:
        stmt = stmt.where(key < params.cursor.key if relation == "<" else key > params.cursor.key)
    stmt = stmt.order_by(key.desc() if read_desc else key.asc()).limit(params.page_size + 1)
    rows: list[Any] = list(session.execute(stmt).scalars().all())
    return _page_of(rows, params, backwards, key_of or (lambda r: getattr(r, key.key)))


class KeysetReader:
    """:func:`keyset_page` as driver-level SQL (:class:`thumbs.kit.driver.Prepared`), for
    the lists read most: the statement of each shape of filter and each way of reading is
    compiled once. A read names its shape, gives a function building the filtered
    statement of that shape (its values as named bind parameters, called once per shape)
    and the values. ``key`` must be the statement's first column; the page's items are
    the rows."""

    def __init__(self, key: InstrumentedAttribute[int], *, descending: bool = True) -> None:
        self.key = key
        self.descending = descending
        self._prepared: dict[tuple[Hashable, str | None, bool], Prepared] = {}

    def page(
        self,
        conn: Connection,
        params: PageParams,
        *,
        shape: Hashable,
        build: Callable[[], Select[Any]],
        values: Mapping[str, Any],
    ) -> Page[Any]:
        relation, read_desc, backwards = _reading(params, self.descending)
        prepared = self._prepared.get((shape, relation, read_desc))
        if prepared is None:
            key = self.key

            def statement() -> Select[Any]:
                stmt = build()
                cursor = bindparam("keyset_cursor", type_=key.expression.type)
                if relation is not None:
                    stmt = stmt.where(key < cursor if relation == "<" else key > cursor)
                order = key.desc() if read_desc else key.asc()
                return stmt.order_by(order).limit(bindparam("keyset_limit", type_=Integer))

            prepared = self._prepared[(shape, relation, read_desc)] = Prepared(statement)
        cursor = params.cursor
        rows = prepared.rows(
            conn,
            {
                **values,
                "keyset_cursor": cursor.key if cursor is not None else None,
                "keyset_limit": params.page_size + 1,
            },
        )
        return _page_of(list(rows), params, backwards, _first_column)


def _first_column(row: Any) -> Any:
    return row[0]


def meta(request: Request, key: str, params: PageParams, page: Page[Any]) -> dict[str, Any]:
    """The ``meta`` object of a list response, with absolute URLs built from the request."""
    filters = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING_KEYS]
    size = params.page_size
    scope = list_scope(request)
    base = str(request.url.replace(query=""))

    def url(extra: list[tuple[str, Any]]) -> str:
        return f"{base}?{urlencode(dict([*filters, ('PageSize', size), *extra]))}"

    next_url = None
    if page.has_next and page.last_key is not None:
        token = encode_token(Cursor(page.last_key, forward=True), scope)
        next_url = url([("Page", params.page + 1), ("PageToken", token)])
    prev_url = None
    if page.has_prev and page.first_key is not None:
        token = encode_token(Cursor(page.first_key, forward=False), scope)
        prev_url = url([("Page", max(params.page - 1, 0)), ("PageToken", token)])
    return {
        "first_page_url": url([("Page", 0)]),
        "key": key,
        "next_page_url": next_url,
        "page": params.page,
        "page_size": size,
        "previous_page_url": prev_url,
        "url": str(request.url),
    }


def envelope(
    request: Request, key: str, params: PageParams, page: Page[Any], items: Sequence[Any]
) -> dict[str, Any]:
    return {key: list(items), "meta": meta(request, key, params, page)}


# Run before each chunk's statement on PostgreSQL, for its transaction only: no JIT
# compilation and no parallel workers. A chunk is a few thousand rows, but the planner
# estimates a range of keys from the table's size: on a larger table (2,000,000 feedback
# rows, an export of 1,000,000 of them) the estimated cost of a chunk passed
# jit_above_cost and every chunk spent ~25 ms compiling, and parallel workers were started
# for each, halving the export's rate (bench/README.md, "Exports and imports").
CHUNK_SETTINGS_POSTGRESQL = (
    "SELECT set_config('jit', 'off', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)"
)


class _DriverStatement:
    """A statement compiled once for ``engine``, run on the driver's cursor with the named
    parameters given: rows are the driver's plain tuples, without SQLAlchemy's per-row
    processing (a third of the cost of a wide export). On SQLite a pooled connection's page
    cache is small (:data:`thumbs.store.engine.SQLITE_CACHE_KIB`): the pages an export walks
    through are not kept in the process. A ``chunk`` statement on PostgreSQL runs after
    :data:`CHUNK_SETTINGS_POSTGRESQL` in its transaction (``set_config(…, true)``: they end
    with it, and the pooled connection returns as it was), sent with it in one round trip."""

    def __init__(
        self, engine: Engine, stmt: Select[*tuple[Any, ...]], *, chunk: bool = False
    ) -> None:
        self.engine = engine
        self.compiled = stmt.compile(engine)
        self.sql = str(self.compiled)
        postgresql = chunk and engine.dialect.name == "postgresql"
        self.setup = CHUNK_SETTINGS_POSTGRESQL if postgresql else None

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        compiled = self.compiled
        params = compiled.construct_params(values)
        args: Any = (
            tuple(params[name] for name in compiled.positiontup or ())
            if compiled.positional
            else params
        )
        with self.engine.connect() as conn:  # a short read transaction of its own
            cursor = conn.connection.cursor()
            try:
                if self.setup is None:
                    cursor.execute(self.sql, args)
                    return list(cursor.fetchall())
                # both statements in one round trip
                with pipelined(conn):
                    cursor.execute(self.setup)
                    cursor.execute(self.sql, args)
                    return list(cursor.fetchall())
            finally:
                cursor.close()


def keyset_chunks(
    engine: Engine,
    stmt: Select[Any],
    key: ColumnElement[int],
    *,
    size: int,
    gather: Callable[[Select[Any]], Select[Any]] | None = None,
) -> Iterator[Callable[[], list[tuple[Any, ...]]]]:
    """All the rows of ``stmt`` in ascending ``key`` order, ``size`` at a time: what an
    export streams. ``key`` must be the statement's first column.

    Yields one reader per chunk, in order: a function that reads the chunk, so that
    several chunks can be read at once (:func:`thumbs.kit.streams.read_ordered`). To cut
    the chunks, the keys alone are counted first (the last of the next ``size`` keys after
    the previous chunk, on an index); each chunk is then ``WHERE key > :first AND key <=
    :last ORDER BY key``, in a short transaction of its own: memory holds a chunk whatever
    the total, and no snapshot is held between chunks (rows committed meanwhile within or
    ahead of the chunks not yet read are included). ``gather`` may make that ordered
    statement something else to read instead (e.g. the chunk's rows aggregated into one).
    Statements are compiled once and run on the driver's cursor, so ``stmt`` must select
    values the driver returns as they are meant (strings, numbers; see
    :class:`thumbs.store.sql.api_time` for dates)."""
    after = bindparam("keyset_after", type_=key.type)
    upto = bindparam("keyset_upto", type_=key.type)
    ahead = (
        stmt.with_only_columns(key.label("keyset_key"))
        .where(key > after)
        .order_by(key.asc())
        .limit(size)
        .subquery()
    )
    # one row whatever the size: the driver converts no row per key
    keys = _DriverStatement(engine, select(func.max(ahead.c.keyset_key), func.count()))
    bounded = stmt.where(key > after, key <= upto).order_by(key.asc())
    chunk = _DriverStatement(engine, gather(bounded) if gather is not None else bounded, chunk=True)
    last: int = -1
    while True:
        [(edge, found)] = keys.rows(keyset_after=last)
        if not found:
            return
        yield partial(chunk.rows, keyset_after=last, keyset_upto=edge)
        if found < size:
            return
        last = edge
