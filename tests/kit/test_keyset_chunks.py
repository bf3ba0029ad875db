"""The chunks of an export (:func:`thumbs.kit.paging.keyset_chunks`): every row once, in key
order, and on PostgreSQL each chunk read without JIT compilation or parallel workers, for its
own transaction only (the pooled connection keeps its settings)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, func, select

from tests.support.accounts import Account as SupportAccount
from tests.support.accounts import make_account
from tests.support.server import LiveServer
from thumbs.kit.paging import _DriverStatement, keyset_chunks
from thumbs.store.models import Account

SETTINGS = ("jit", "max_parallel_workers_per_gather")


def test_every_row_once_in_key_order(server: LiveServer, account: SupportAccount) -> None:
    for _ in range(4):
        make_account(server)
    engine = server.runtime.store.engine
    with engine.connect() as conn:
        keys = list(conn.execute(select(Account.pk).order_by(Account.pk)).scalars())
    assert len(keys) >= 5
    read = [
        row[0]
        for reader in keyset_chunks(engine, select(Account.pk), Account.pk, size=2)
        for row in reader()
    ]
    assert read == keys


def test_a_chunk_is_read_without_jit_or_parallel_workers(
    server: LiveServer, account: SupportAccount
) -> None:
    """PostgreSQL's planner settings, for the chunk's transaction only; SQLite has neither,
    and its chunk is its one statement."""
    if server.runtime.store.engine.dialect.name == "sqlite":
        stmt = select(Account.pk).where(Account.pk == account.pk)
        chunk = _DriverStatement(server.runtime.store.engine, stmt, chunk=True)
        assert chunk.setup is None
        assert chunk.rows() == [(account.pk,)]
        return
    # one pooled connection: the chunks are read on the one checked afterwards
    engine = create_engine(server.runtime.store.engine.url, pool_size=1, max_overflow=0)
    try:
        current: list[Any] = [func.current_setting(name) for name in SETTINGS]
        with engine.connect() as conn:
            before = tuple(conn.execute(select(*current)).one())
        stmt = select(Account.pk, *current)
        rows = [
            row for reader in keyset_chunks(engine, stmt, Account.pk, size=1) for row in reader()
        ]
        assert rows
        assert all(tuple(row[1:]) == ("off", "0") for row in rows)
        with engine.connect() as conn:
            assert tuple(conn.execute(select(*current)).one()) == before
    finally:
        engine.dispose()
