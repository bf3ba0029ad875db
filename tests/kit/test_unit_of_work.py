"""A request's unit of work (``thumbs.kit.deps``): a handler that wrote commits in its own
thread as it returns, so a SQLite transaction never holds the file's write lock while it
waits for the event loop; a handler that only read ends its transaction as before; and
every route of the app is built that way."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.routing import APIRoute, APIRouter
from sqlalchemy import event, text
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.store.kinds import engine_with_table, stored
from tests.support.http import run
from thumbs.app import create_app
from thumbs.config import Settings
from thumbs.kit.deps import DbSession, UnitOfWorkRoute, unit_of_work
from thumbs.store.engine import Store
from thumbs.store.writelock import lock_for


@pytest.fixture
def store(tmp_path: Path) -> Any:
    path = tmp_path / "uow.db"
    engine_with_table(path).dispose()
    s = Store(f"sqlite:///{path.as_posix()}")
    yield s
    s.dispose()


def mini_app(store: Store, seen: dict[str, Any]) -> FastAPI:
    router = APIRouter(route_class=UnitOfWorkRoute)

    @event.listens_for(store.engine, "commit")
    def _committed(_conn: Any) -> None:
        seen.setdefault("commits", []).append(threading.get_ident())

    @router.post("/write/{name}")
    def write(name: str, session: DbSession) -> dict[str, str]:
        seen["handler"] = threading.get_ident()
        session.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})
        session.info["wrote"] = True  # as the ORM's flush and DML events mark it
        return {"name": name}

    @router.post("/fail/{name}")
    def fail(name: str, session: DbSession) -> dict[str, str]:
        session.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})
        session.info["wrote"] = True
        raise HTTPException(409, "no")

    @router.get("/read")
    def read(session: DbSession) -> dict[str, int]:
        seen["handler"] = threading.get_ident()
        seen["held_while_reading"] = lock_for(str(store.engine.url.database)).held
        return {"n": len(session.execute(text("SELECT name FROM t")).all())}

    app = FastAPI()
    app.state.runtime = SimpleNamespace(store=store)
    app.include_router(router)
    return app


def call(app: FastAPI, method: str, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path)

    return run(go())


def test_a_handler_that_wrote_commits_in_its_own_thread(store: Store) -> None:
    seen: dict[str, Any] = {}
    app = mini_app(store, seen)
    r = call(app, "POST", "/write/a")
    assert r.status_code == 200
    assert seen["commits"] == [seen["handler"]]
    assert not lock_for(str(store.engine.url.database)).held
    assert stored(store.engine) == ["a"]


def test_a_handler_that_failed_commits_nothing(store: Store) -> None:
    app = mini_app(store, {})
    assert call(app, "POST", "/fail/b").status_code == 409
    assert stored(store.engine) == []
    assert not lock_for(str(store.engine.url.database)).held


def test_a_handler_that_only_read_holds_no_write_lock(store: Store) -> None:
    seen: dict[str, Any] = {}
    app = mini_app(store, seen)
    call(app, "POST", "/write/c")
    seen.clear()
    r = call(app, "GET", "/read")
    assert r.json() == {"n": 1}
    assert seen["held_while_reading"] is False
    assert len(seen["commits"]) == 1  # its read transaction ended on the loop, as before
    assert seen["commits"] != [seen["handler"]]


def api_routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            found.append(r)
        elif isinstance(r, Mount) and isinstance(r.app, Starlette):  # the console
            found += api_routes(r.app.routes)
        elif (included := getattr(r, "original_router", None)) is not None:  # a router
            found += api_routes(included.routes)
    return found


def test_every_route_with_a_unit_of_work_commits_it_in_its_thread(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{(tmp_path / 'app.db').as_posix()}"))
    with_session = [
        r for r in api_routes(app.routes) if unit_of_work(inspect.unwrap(r.endpoint)) is not None
    ]
    assert len(with_session) > 50  # the API's and the console's
    assert [r.path for r in with_session if not isinstance(r, UnitOfWorkRoute)] == []
